"""通讯录: agencies and departments in a tree, staff with posts, roles, search and CSV exchange."""
