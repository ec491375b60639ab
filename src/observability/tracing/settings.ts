/**
 * Whether the runtime traces, read from the standard OpenTelemetry environment variables. Tracing is off
 * unless they ask for it: `OTEL_TRACES_EXPORTER` names an exporter (`otlp`, `console`), or an OTLP endpoint
 * is set (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), and `OTEL_SDK_DISABLED` is not
 * `true`. Everything else the SDK and the exporter read themselves (sampler, batch sizes, endpoint, headers,
 * timeout, service name and resource attributes).
 */

export type TraceExporterKind = 'otlp' | 'console';
export type OtlpProtocol = 'http/protobuf' | 'http/json';

export type TracingSettings =
  | { readonly on: false; readonly problems: readonly string[] }
  | {
      readonly on: true;
      readonly exporters: readonly TraceExporterKind[];
      readonly protocol: OtlpProtocol;
      /** What was asked for and cannot be done, to be logged: tracing goes on without it. */
      readonly problems: readonly string[];
    };

type Environment = Readonly<Record<string, string | undefined>>;

const isSet = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

function exportersOf(env: Environment, problems: string[]): TraceExporterKind[] {
  const setting = env.OTEL_TRACES_EXPORTER;
  const endpoint = isSet(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) || isSet(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  // The specification's default exporter is otlp; here an endpoint must say so, or tracing would be on by default.
  if (!isSet(setting)) return endpoint ? ['otlp'] : [];
  const exporters: TraceExporterKind[] = [];
  for (const name of setting.split(',').map((each) => each.trim().toLowerCase())) {
    if (name === 'none' || name === '') continue;
    if (name === 'otlp' || name === 'console') {
      if (!exporters.includes(name)) exporters.push(name);
    } else {
      problems.push(`OTEL_TRACES_EXPORTER: exporter "${name}" is not supported (otlp, console or none)`);
    }
  }
  return exporters;
}

function protocolOf(env: Environment, problems: string[]): OtlpProtocol | undefined {
  const name = isSet(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const value = env[name]?.trim().toLowerCase();
  if (!isSet(value) || value === 'http/protobuf') return 'http/protobuf';
  if (value === 'http/json') return 'http/json';
  problems.push(`${name}: protocol "${value}" is not supported (http/protobuf or http/json)`);
  return undefined;
}

/** What the environment asks of tracing. */
export function tracingSettings(env: Environment): TracingSettings {
  const problems: string[] = [];
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { on: false, problems };
  let exporters = exportersOf(env, problems);
  if (exporters.length === 0) return { on: false, problems };
  const protocol = exporters.includes('otlp') ? protocolOf(env, problems) : 'http/protobuf';
  if (protocol === undefined) exporters = exporters.filter((each) => each !== 'otlp');
  if (exporters.length === 0) return { on: false, problems };
  return { on: true, exporters, protocol: protocol ?? 'http/protobuf', problems };
}
