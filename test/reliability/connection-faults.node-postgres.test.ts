import { connectionFaultSuite } from './fixtures/connection-faults.js'

connectionFaultSuite('pg')
