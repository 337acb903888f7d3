# Signatures, prospects and invitations arrive with the signing issue.
