DROP TABLE console_setup_links;
DROP TABLE console_sessions;
