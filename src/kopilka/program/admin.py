"""The program's versions in the admin: rewritten in the next commit (read-only list, add)."""
