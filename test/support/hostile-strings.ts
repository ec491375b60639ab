/** Arbitrary names and emails for the hostile-input tests: quotes, SQL, control characters, any Unicode. */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';

const tricky = fc.constantFrom(
  `'`,
  `"`,
  `\\`,
  `'); DROP TABLE users;--`,
  `' OR '1'='1`,
  '\u0000',
  '\u0007',
  '\u009f',
  '\u202e',
  '\ud800',
  'a\udc00b',
  '🦜',
  'e\u0301',
  '%00',
  '${x}',
);

export const hostileName: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.array(fc.oneof(tricky, fc.string({ maxLength: 5 })), { maxLength: 6 }).map((parts) => parts.join('')),
  fc.string({ unit: 'binary-ascii', minLength: 190, maxLength: 210 }),
);

const localPart = fc.stringMatching(/^[A-Za-z0-9_'+-]{1,20}$/);
/** Mostly addresses that pass the rules (fresh, so not taken), some that do not. */
export const hostileEmail: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: localPart.map((local) => `${local}.${randomBytes(5).toString('hex')}@example.com`) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(hostileName, fc.constantFrom('@example.com', '@exämple.com', '', '@', '@x'))
      .map(([local, domain]) => `${local}${domain}`),
  },
);
