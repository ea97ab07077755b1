DROP INDEX event_deliveries_event;
DROP INDEX event_deliveries_pending_subject;
DROP INDEX event_deliveries_due;
DROP TABLE event_deliveries;
DROP INDEX event_outbox_created;
DROP INDEX event_outbox_subject;
DROP TABLE event_outbox;
DROP TABLE webhooks;
