"""Who may do what: roles and jurisdictions, API tokens, recording on behalf of
a principal."""
