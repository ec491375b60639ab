import { randomInt } from 'node:crypto';

/** A random 16-digit number passing the Luhn check. */
export function cardNumber(): string {
  const digits = [randomInt(1, 10)];
  while (digits.length < 15) digits.push(randomInt(0, 10));
  let sum = 0;
  for (let index = 0; index < 15; index += 1) {
    let digit = digits[14 - index]!;
    if (index % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return digits.join('') + String((10 - (sum % 10)) % 10);
}
