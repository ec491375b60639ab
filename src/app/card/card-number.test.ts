import test from 'ava';
import { newCardNumber, passesLuhn } from './card-number.js';

test('known card numbers pass the Luhn check, altered ones do not', (t) => {
  t.true(passesLuhn('4539578763621486'));
  t.true(passesLuhn('79927398713'));
  t.false(passesLuhn('4539578763621487'));
  t.false(passesLuhn('79927398710'));
  t.false(passesLuhn('4539-5787-6362-1486'));
});

test('new card numbers have 16 digits and pass the Luhn check', (t) => {
  for (let round = 0; round < 1_000; round += 1) {
    const number = newCardNumber();
    t.regex(number, /^[1-9]\d{15}$/);
    t.true(passesLuhn(number), number);
  }
});
