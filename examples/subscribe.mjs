#!/usr/bin/env node
// Subscribes to a channel with the official `centrifuge` SDK and prints what arrives.
// Usage: node examples/subscribe.mjs <connection-token> [channel] [url]
import { Centrifuge } from 'centrifuge';
import WebSocket from 'ws';

const [token, channel = 'chat:index', url = 'ws://localhost:8000/connection/websocket'] = process.argv.slice(2);
if (!token) {
  console.error('usage: node examples/subscribe.mjs <connection-token> [channel] [url]');
  process.exit(1);
}
const client = new Centrifuge(url, { token, websocket: WebSocket });
client.on('connected', (ctx) => console.log(`connected as client ${ctx.client}`));
client.on('disconnected', (ctx) => console.log(`disconnected: ${ctx.code} ${ctx.reason}`));
client.on('error', (ctx) => console.error('client error:', ctx.error));
const sub = client.newSubscription(channel);
sub.on('subscribed', () => console.log(`subscribed to ${channel}, waiting for publications (Ctrl+C to stop)`));
sub.on('publication', (ctx) => console.log('publication:', JSON.stringify(ctx.data)));
sub.on('error', (ctx) => console.error('subscription error:', ctx.error));
sub.subscribe();
client.connect();
