-- One Postgres server, one database per system (as the sandbox has): created on first start.
CREATE DATABASE customers;
CREATE DATABASE mes;
CREATE DATABASE warehouse;
CREATE DATABASE aggregator;
CREATE DATABASE glassdome;
