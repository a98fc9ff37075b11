export * as schema from './schema.js'
export { bookingScenario, bookings, factories, sessions, users } from './factories.js'
