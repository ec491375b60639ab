import test from 'ava';
import { tracingSettings } from './settings.js';

test('tracing is off when nothing asks for it', (t) => {
  t.deepEqual(tracingSettings({}), { on: false, problems: [] });
  t.deepEqual(tracingSettings({ OTEL_SERVICE_NAME: 'user' }), { on: false, problems: [] });
  t.deepEqual(tracingSettings({ OTEL_TRACES_EXPORTER: 'none' }), { on: false, problems: [] });
});

test('an exporter or an OTLP endpoint turns tracing on', (t) => {
  t.deepEqual(tracingSettings({ OTEL_TRACES_EXPORTER: 'otlp' }), {
    on: true,
    exporters: ['otlp'],
    protocol: 'http/protobuf',
    problems: [],
  });
  t.deepEqual(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), {
    on: true,
    exporters: ['otlp'],
    protocol: 'http/protobuf',
    problems: [],
  });
  t.deepEqual(tracingSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }).on, true);
  t.deepEqual(tracingSettings({ OTEL_TRACES_EXPORTER: 'console, otlp,console' }), {
    on: true,
    exporters: ['console', 'otlp'],
    protocol: 'http/protobuf',
    problems: [],
  });
});

test('OTEL_SDK_DISABLED=true wins over everything', (t) => {
  t.false(tracingSettings({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }).on);
  t.false(tracingSettings({ OTEL_SDK_DISABLED: 'TRUE', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).on);
  t.true(tracingSettings({ OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'otlp' }).on);
});

test('the signal-specific protocol wins over the general one', (t) => {
  const settings = tracingSettings({
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
  });
  t.is(settings.on && settings.protocol, 'http/json');
});

test('what cannot be done is named, and tracing goes on with the rest', (t) => {
  const grpc = tracingSettings({ OTEL_TRACES_EXPORTER: 'otlp,console', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
  t.deepEqual(grpc, {
    on: true,
    exporters: ['console'],
    protocol: 'http/protobuf',
    problems: ['OTEL_EXPORTER_OTLP_PROTOCOL: protocol "grpc" is not supported (http/protobuf or http/json)'],
  });
  const zipkin = tracingSettings({ OTEL_TRACES_EXPORTER: 'zipkin' });
  t.deepEqual(zipkin, {
    on: false,
    problems: ['OTEL_TRACES_EXPORTER: exporter "zipkin" is not supported (otlp, console or none)'],
  });
  t.false(tracingSettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).on);
});
