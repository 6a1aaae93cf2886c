import { expect } from 'chai';
import { logLevel } from 'kafkajs';
import { kafkaLogSink } from '../../../kernel/clients/kafka.js';
import type { Logger } from '../../../kernel/logger.js';

/** A logger that records (level, message) pairs. */
function recorder() {
  const lines: Array<[string, string]> = [];
  const at = (level: string) => (_fields: object, message: string) => void lines.push([level, message]);
  return { lines, log: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') } as unknown as Logger };
}

describe('kafkajs log lines', () => {
  const coordinator = { level: logLevel.ERROR, message: 'Response GroupCoordinator(key: 10, version: 2)', extra: { error: 'The group coordinator is not available' } };

  it('when the broker answers with a transient error while it warms up, then the line is debug, not error', () => {
    const { lines, log } = recorder();
    const sink = kafkaLogSink(log, () => 1_000);
    sink(coordinator);
    sink(coordinator);
    expect(lines).to.deep.equal([
      ['debug', coordinator.message],
      ['debug', coordinator.message],
    ]);
  });

  it('when an idempotent producer starts while the coordinator loads, then its InitProducerId answer is debug (kafkajs words it longer than the list)', () => {
    const { lines, log } = recorder();
    const loading = { level: logLevel.ERROR, message: 'Response InitProducerId(key: 22, version: 1)', extra: { error: "The coordinator is loading and hence can't process requests for this group" } };
    kafkaLogSink(log, () => 1_000)(loading);
    expect(lines).to.deep.equal([['debug', loading.message]]);
  });

  it('when kafkajs warns that an idempotent producer has bounded retries, then the line is debug (a failed producer is replaced)', () => {
    const { lines, log } = recorder();
    kafkaLogSink(log)({ level: logLevel.WARN, message: 'Limiting retries for the idempotent producer may invalidate EoS guarantees', extra: {} });
    expect(lines).to.deep.equal([['debug', 'Limiting retries for the idempotent producer may invalidate EoS guarantees']]);
  });

  it('when the same transient error keeps coming for more than 30 s, then it is warned about once', () => {
    const { lines, log } = recorder();
    let now = 0;
    const sink = kafkaLogSink(log, () => now);
    for (; now <= 40_000; now += 2_000) sink(coordinator);
    expect(lines.filter(([level]) => level === 'warn')).to.have.length(1);
    expect(lines.find(([level]) => level === 'warn')![1]).to.include('The group coordinator is not available');
  });

  it('when a streak pauses for longer than kafkajs retries, then a new streak starts without a warning', () => {
    const { lines, log } = recorder();
    let now = 0;
    const sink = kafkaLogSink(log, () => now);
    for (; now <= 20_000; now += 2_000) sink(coordinator);
    now += 60_000;
    for (let i = 0; i < 5; i++, now += 2_000) sink(coordinator);
    expect(lines.some(([level]) => level === 'warn')).to.equal(false);
  });

  it('when a consumer crashes on a transient answer and kafkajs restarts it at once, then both lines are debug; another crash stays an error', () => {
    const { lines, log } = recorder();
    let now = 0;
    const sink = kafkaLogSink(log, () => now);
    const crash = "Crash: KafkaJSProtocolError: The coordinator is loading and hence can't process requests for this group";
    sink({ level: logLevel.ERROR, message: crash, extra: { groupId: 'realtime-gateway' } });
    now += 5;
    sink({ level: logLevel.ERROR, message: 'Restarting the consumer in 200ms', extra: { retryTime: 200 } });
    now += 60_000;
    sink({ level: logLevel.ERROR, message: 'Crash: KafkaJSNonRetriableError: something else', extra: {} });
    sink({ level: logLevel.ERROR, message: 'Restarting the consumer in 200ms', extra: { retryTime: 200 } });
    expect(lines).to.deep.equal([
      ['debug', crash],
      ['debug', 'Restarting the consumer in 200ms'],
      ['error', 'Crash: KafkaJSNonRetriableError: something else'],
      ['error', 'Restarting the consumer in 200ms'],
    ]);
  });

  it('when kafkajs logs any other error, then it stays an error', () => {
    const { lines, log } = recorder();
    kafkaLogSink(log)({ level: logLevel.ERROR, message: 'Connection error: connect ECONNREFUSED', extra: {} });
    expect(lines).to.deep.equal([['error', 'Connection error: connect ECONNREFUSED']]);
  });
});
