/**
 * The failures counted by `centrifugo_broker_redis_pub_sub_errors{broker_name, error}`, under
 * the `error` values Centrifugo gives them, so its dashboards and alerts read Rotor's series.
 *
 * - `connection`: a PUB/SUB connection began failing: lost, stalled (no PING reply within
 *   `io_timeout`), or delivering nothing (no delivery probe back within `io_timeout`). Counted
 *   once per failure, when it begins, not once per reconnect attempt (Centrifugo's reconnect loop
 *   counts each attempt, four a second).
 * - `subscribe_channel`: a SUBSCRIBE of client channels failed (the subscribing client was
 *   answered with error 100).
 * - `subscribe_control_channel`: the control or node channel could not be subscribed at start.
 * - `handle_client_message`: a message on a client channel that could not be decoded, dropped.
 * - `handle_control_message`: a control message the node's control plane dropped (undecodable,
 *   or a heartbeat naming another node than its sender).
 *
 * Centrifugo's `subscribe_shard_channel` and `control_connection` have no counterpart: Rotor has
 * no shard channel, and its control channels share the PUB/SUB connections of client channels (a
 * failure there is `connection`).
 */
export const REDIS_PUBSUB_ERRORS = ['connection', 'subscribe_channel', 'subscribe_control_channel', 'handle_client_message', 'handle_control_message'] as const;

export type RedisPubSubError = (typeof REDIS_PUBSUB_ERRORS)[number];

/** Where the Redis broker reports them; the default counts nothing. */
export type RedisPubSubErrorSink = (error: RedisPubSubError) => void;
