"""Qt models over the catalog: the server/library tree, a library's items, the sync history."""
