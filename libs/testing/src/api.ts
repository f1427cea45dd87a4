export const TEST_JWT_SECRET = 'test-secret-'.padEnd(80, 'x');
