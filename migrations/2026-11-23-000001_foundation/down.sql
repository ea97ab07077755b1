DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE users;
DROP TABLE connection_tokens;
DROP TABLE connections;
DROP TABLE tenants;
