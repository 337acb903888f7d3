/* The coalition's network map: partners as dots sized by reach, joined when they
   signed letters together, or joined to the letters themselves. Drawn with the
   vendored sigma and graphology (static/vendor/); the data comes from the page's
   own JSON view. Without JavaScript (or WebGL) the table below the picture holds
   the same figures, and the filter form filters it on the server. Names are
   drawn on the canvas or set as text: never parsed as HTML. */
(function () {
  "use strict";
  var root = document.querySelector("[data-network-map]");
  if (!root) return;
  var canvas = root.querySelector("[data-map-canvas]");
  var status = root.querySelector("[data-map-status]");
  var form = document.querySelector("[data-map-filters]");
  if (!window.Sigma || !window.graphology || !window.graphologyLibrary) return;

  // More ties than this make a hairball and a slow page: the weakest are left
  // out of the picture (never out of the table or the downloads).
  var MAX_TIES = 15000;
  var LAYOUT_ROUNDS = 40;
  var LAYOUT_ITERATIONS_PER_ROUND = 5;
  var PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#2f4b7c", "#a05195", "#665191"
  ];
  var MUTED = "#b8bcc4";
  var LETTER_COLOUR = "#3b3f46";

  function say(text) {
    status.textContent = text;
  }

  function template(name, values) {
    var text = root.dataset[name] || "";
    Object.keys(values).forEach(function (key) {
      text = text.split("{" + key + "}").join(String(values[key]));
    });
    return text;
  }

  // A small seeded generator: the same data starts from the same picture.
  function random(seed) {
    return function () {
      seed = (seed + 0x6d2b79f5) | 0;
      var t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function nodeSize(reach) {
    return 3 + 2.2 * Math.log10(1 + (reach || 0));
  }

  function colourFor(index) {
    return index === null || index === undefined ? MUTED : PALETTE[index % PALETTE.length];
  }

  function ties(data, index) {
    // Letters in common for every pair of partners, counted per letter.
    var signers = {};
    data.memberships.forEach(function (m) {
      (signers[m[1]] = signers[m[1]] || []).push(index[m[0]]);
    });
    var n = data.partners.length;
    var weights = new Map();
    Object.keys(signers).forEach(function (letter) {
      var list = signers[letter];
      for (var i = 0; i < list.length; i++) {
        for (var j = i + 1; j < list.length; j++) {
          var a = Math.min(list[i], list[j]);
          var b = Math.max(list[i], list[j]);
          var key = a * n + b;
          weights.set(key, (weights.get(key) || 0) + 1);
        }
      }
    });
    var total = weights.size;
    var threshold = 1;
    if (total > MAX_TIES) {
      var counts = [];
      weights.forEach(function (w) { counts[w] = (counts[w] || 0) + 1; });
      var kept = total;
      while (kept > MAX_TIES && threshold < counts.length) {
        kept -= counts[threshold] || 0;
        threshold++;
      }
    }
    var list = [];
    weights.forEach(function (w, key) {
      if (w >= threshold) list.push([Math.floor(key / n), key % n, w]);
    });
    return { list: list, total: total, threshold: threshold };
  }

  function build(data) {
    var graph = new window.graphology.UndirectedGraph();
    var layout = new window.graphology.UndirectedGraph();
    var index = {};
    var clusters = Math.max(1, data.clusters);
    var rand = random(data.partners.length + 31 * data.letters.length);
    var kinds = [];
    data.partners.forEach(function (p) {
      if (kinds.indexOf(p.kind) === -1) kinds.push(p.kind);
    });

    function place(cluster) {
      // Clusters start on a circle; the layout then pulls ties together.
      var angle = 2 * Math.PI * ((cluster || 0) % clusters) / clusters;
      var spread = cluster ? 20 : 60;
      return {
        x: 100 * Math.cos(angle) + spread * (rand() - 0.5),
        y: 100 * Math.sin(angle) + spread * (rand() - 0.5)
      };
    }

    data.partners.forEach(function (p, i) {
      index[p.id] = i;
      var at = place(p.cluster);
      var attributes = {
        x: at.x, y: at.y, label: p.name, size: nodeSize(p.reach),
        kind: p.kind, tags: p.tags, cluster: p.cluster, bridge: p.bridge,
        url: p.url, partner: true, letters: [],
        clusterColour: colourFor(p.cluster === null ? null : p.cluster - 1),
        kindColour: colourFor(kinds.indexOf(p.kind))
      };
      graph.addNode("p" + p.id, attributes);
      layout.addNode("p" + p.id, { x: at.x, y: at.y, size: attributes.size });
    });
    data.letters.forEach(function (l) {
      var at = place(l.cluster);
      graph.addNode("l" + l.id, {
        x: at.x, y: at.y, label: l.title, size: 7, partner: false,
        clusterColour: LETTER_COLOUR, kindColour: LETTER_COLOUR, letter: l.id
      });
      layout.addNode("l" + l.id, { x: at.x, y: at.y, size: 7 });
    });
    data.memberships.forEach(function (m) {
      graph.getNodeAttributes("p" + m[0]).letters.push(m[1]);
      graph.addEdge("p" + m[0], "l" + m[1], { signed: true, size: 0.6 });
      layout.addEdge("p" + m[0], "l" + m[1]);
    });
    var found = ties(data, index);
    found.list.forEach(function (t) {
      var a = "p" + data.partners[t[0]].id;
      var b = "p" + data.partners[t[1]].id;
      graph.addEdge(a, b, { signed: false, weight: t[2], size: Math.min(4, 0.5 + t[2] / 2) });
    });
    return { graph: graph, layout: layout, ties: found };
  }

  function filters() {
    var values = { tag: "", kind: "", letter: "", letters: false, colour: "cluster" };
    if (!form) return values;
    ["tag", "kind", "letter", "colour"].forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (field) values[name] = field.value;
    });
    var letters = form.elements.namedItem("letters");
    values.letters = Boolean(letters && letters.checked);
    return values;
  }

  function visible(attributes, chosen) {
    if (!attributes.partner) {
      return chosen.letters && (!chosen.letter || String(attributes.letter) === chosen.letter);
    }
    if (chosen.kind && attributes.kind !== chosen.kind) return false;
    if (chosen.tag && attributes.tags.indexOf(chosen.tag) === -1) return false;
    if (chosen.letter && attributes.letters.map(String).indexOf(chosen.letter) === -1) {
      return false;
    }
    return true;
  }

  function draw(data) {
    if (data.partners.length === 0) {
      say(root.dataset.empty);
      return;
    }
    var built = build(data);
    var graph = built.graph;
    var chosen = filters();
    var shown = {};

    function recount() {
      var count = 0;
      graph.forEachNode(function (node, attributes) {
        shown[node] = visible(attributes, chosen);
        if (shown[node] && attributes.partner) count++;
      });
      var message = template("shown", { n: count, total: data.partners.length });
      if (!chosen.letters && built.ties.threshold > 1) {
        message += " " + template("thinned", {
          n: built.ties.list.length, total: built.ties.total, min: built.ties.threshold
        });
      }
      say(message);
    }

    var renderer = new window.Sigma(graph, canvas, {
      labelRenderedSizeThreshold: 9,
      defaultEdgeColor: "#d5d8dd",
      zIndex: true,
      nodeReducer: function (node, attributes) {
        var out = Object.assign({}, attributes);
        out.hidden = !shown[node];
        out.color = chosen.colour === "kind" ? attributes.kindColour : attributes.clusterColour;
        if (attributes.bridge) {
          out.zIndex = 1;
          out.forceLabel = data.partners.length <= 100;
        }
        return out;
      },
      edgeReducer: function (edge, attributes) {
        var out = Object.assign({}, attributes);
        var ends = graph.extremities(edge);
        out.hidden = attributes.signed !== chosen.letters || !shown[ends[0]] || !shown[ends[1]];
        return out;
      }
    });
    renderer.on("clickNode", function (event) {
      var url = graph.getNodeAttribute(event.node, "url");
      if (url) window.location.assign(url);
    });
    renderer.on("enterNode", function () { canvas.style.cursor = "pointer"; });
    renderer.on("leaveNode", function () { canvas.style.cursor = ""; });

    recount();
    if (form) {
      form.addEventListener("change", function () {
        chosen = filters();
        recount();
        renderer.refresh();
      });
    }

    // Lay out on the partner-letter graph (one edge per signature) a few
    // iterations at a time, so that the page stays responsive, and move the
    // picture's dots once at the end (redrawing costs more than laying out).
    var fa2 = window.graphologyLibrary.layoutForceAtlas2;
    var settings = fa2.inferSettings(built.layout);
    var rounds = built.layout.order > 1000 ? LAYOUT_ROUNDS / 2 : LAYOUT_ROUNDS;
    var round = 0;
    function step() {
      fa2.assign(built.layout, { iterations: LAYOUT_ITERATIONS_PER_ROUND, settings: settings });
      round++;
      if (round < rounds) {
        window.setTimeout(step, 0);
        return;
      }
      graph.updateEachNodeAttributes(function (node, attributes) {
        var at = built.layout.getNodeAttributes(node);
        attributes.x = at.x;
        attributes.y = at.y;
        return attributes;
      }, { attributes: ["x", "y"] });
      root.dataset.ready = "true";
    }
    window.setTimeout(step, 0);
    root.dataset.nodes = String(graph.order);
  }

  // Sigma needs its container laid out: on a busy machine the data can come
  // back before the page's first layout has given the container a width.
  function sized(element) {
    return new Promise(function (resolve) {
      if (!element || element.clientWidth > 0) return resolve();
      var observer = new ResizeObserver(function () {
        if (element.clientWidth > 0) {
          observer.disconnect();
          resolve();
        }
      });
      observer.observe(element);
    });
  }

  say(root.dataset.loading);
  fetch(root.dataset.source, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    })
    .then(function (data) {
      return sized(root.querySelector("[data-map-canvas]")).then(function () { draw(data); });
    })
    .catch(function (error) {
      say(root.dataset.failed);
      window.console.error(error);
    });
})();
