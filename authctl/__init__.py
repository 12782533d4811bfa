"""authctl: operator commands for sam-refresh-auth (users, sessions, keys, Strapi import)."""
