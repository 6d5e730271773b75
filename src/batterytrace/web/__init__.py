"""The passport viewer for end users: templates, static assets, server-drawn charts."""
