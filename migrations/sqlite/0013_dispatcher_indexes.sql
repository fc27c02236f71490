-- The push dispatcher's hot statements each use an index (checked by a test on their plans).
-- Deleting a gone subscription cascades to its deliveries, and re-registering an endpoint for
-- another account deletes that subscription's deliveries: both look deliveries up by
-- subscription, which the (notification_id, subscription_id) key cannot serve.
CREATE INDEX push_deliveries_subscription ON push_deliveries (subscription_id);
