import { randomInt } from 'node:crypto';

/** The Luhn check digit that makes `digits` + digit pass the check. */
function luhnCheckDigit(digits: string): number {
  let sum = 0;
  for (let index = 0; index < digits.length; index += 1) {
    let digit = Number(digits[digits.length - 1 - index]);
    if (index % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return (10 - (sum % 10)) % 10;
}

export function passesLuhn(number: string): boolean {
  if (!/^\d{2,}$/.test(number)) return false;
  return luhnCheckDigit(number.slice(0, -1)) === Number(number.slice(-1));
}

/** A random 16-digit card number that passes the Luhn check. */
export function newCardNumber(): string {
  let body = String(randomInt(1, 10));
  while (body.length < 15) body += String(randomInt(0, 10));
  return body + String(luhnCheckDigit(body));
}
