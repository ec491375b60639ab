/**
 * Where the inspection hook and its helpers used to live. The hook is now the decoder (`decoder.ts`), whose
 * listeners are the log (`log-writer.ts`), the metrics and the live monitor, all made by `createObservers`
 * (`observers.ts`). These re-exports keep working the modules that still import from here (the consumer
 * actor, the machine tests' helpers); new code imports from `decoder.js` or `observers.js`.
 */
export { initialStateOf, type DeliveryDescriber, type Inspector } from './decoder.js';
