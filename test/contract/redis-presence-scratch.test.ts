// Temporary: runs the presence contract on Redis until the entries move into engines.test.ts.
import { presenceContract } from './presence.contract.js';
import { redisPresenceHarness } from './redis-presence.js';

presenceContract('redis', () => redisPresenceHarness());
presenceContract('redis with user mapping', () => redisPresenceHarness({ userMapping: true }));
