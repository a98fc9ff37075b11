import { connectionFaultSuite } from './fixtures/connection-faults.js'

connectionFaultSuite('postgres-js')
