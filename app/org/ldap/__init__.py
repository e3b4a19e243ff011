"""The org chart from LDAP / Active Directory: configuration, sync (plan, then apply) and directory login."""
