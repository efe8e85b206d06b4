import { LifecycleRecord, LifecycleOffset, ExtremeEvent, LifecycleFlag, LIFECYCLE_LENGTH } from "../../../assembly/node/lifecycle";

describe("lifecycle record", () => {
  it("accumulates operating time, residency and charging time in whole seconds", () => {
    const r = new LifecycleRecord();
    for (let i = 0; i < 100; i++) r.account(0.1, 3.7, 10, 25, 0.55, 50, 2.5, 4.2, 1000);
    for (let i = 0; i < 50; i++) r.account(0.1, 3.7, -10, 25, 0.55, 50, 2.5, 4.2, 1000);
    expect(load<u32>(r.ptr + LifecycleOffset.OPERATING_s)).toBe(15);
    expect(load<u32>(r.ptr + LifecycleOffset.CHARGING_s)).toBe(5);
    // 25 degC is the bin [20, 30): index 5 with edges -20, -10, ..., 60
    expect(load<u32>(r.ptr + LifecycleOffset.TEMPERATURE_HISTOGRAM + 5 * 4)).toBe(15);
    // SOC 0.55 is the bin [0.5, 0.6)
    expect(load<u32>(r.ptr + LifecycleOffset.SOC_HISTOGRAM + 5 * 4)).toBe(15);
    expect(load<u32>(r.ptr + LifecycleOffset.FIRST_SERVICE_s)).toBe(1000);
  });
  it("counts extreme events once per episode, with the time of the last", () => {
    const r = new LifecycleRecord();
    r.account(0.1, 4.3, 0, 25, 0.9, 50, 2.5, 4.2, 10);
    r.account(0.1, 4.3, 0, 25, 0.9, 50, 2.5, 4.2, 11);
    r.account(0.1, 4.1, 0, 25, 0.9, 50, 2.5, 4.2, 12);
    r.account(0.1, 4.3, 0, 25, 0.9, 50, 2.5, 4.2, 13);
    expect(r.eventCount(ExtremeEvent.OVER_VOLTAGE)).toBe(2);
    expect(load<u32>(r.ptr + LifecycleOffset.EVENTS + 4)).toBe(13);
    r.account(0.1, 3.0, 0, -25, 0.01, 50, 2.5, 4.2, 20);
    expect(r.eventCount(ExtremeEvent.UNDER_TEMPERATURE)).toBe(1);
    expect(r.eventCount(ExtremeEvent.DEEP_DISCHARGE)).toBe(1);
    expect(r.eventCount(ExtremeEvent.UNDER_VOLTAGE)).toBe(0);
  });
  it("keeps the last eight faults in a ring", () => {
    const r = new LifecycleRecord();
    for (let i = 0; i < 11; i++) r.addFault(0x100 + i, i, <u32>(100 + i));
    expect(load<u16>(r.ptr + LifecycleOffset.FAULT_COUNT)).toBe(8);
    const next = load<u16>(r.ptr + LifecycleOffset.FAULT_NEXT);
    expect(next).toBe(3);
    // slot 2 holds the newest (index 10)
    expect(load<u16>(r.ptr + LifecycleOffset.FAULTS + 2 * 8)).toBe(0x10a);
  });
  it("records pack membership changes and closes the previous one", () => {
    const r = new LifecycleRecord();
    expect(r.joinPack(0xabcd, 3, 1000)).toBe(true);
    expect(r.joinPack(0xabcd, 3, 1001)).toBe(false);
    expect(r.currentPack()).toBe(0xabcd);
    expect(r.joinPack(0x1234, 7, 5000)).toBe(true);
    expect(r.currentPosition()).toBe(7);
    expect(load<u32>(r.ptr + LifecycleOffset.MEMBERSHIPS + 12)).toBe(5000);
    expect(load<u16>(r.ptr + LifecycleOffset.MEMBERSHIP_COUNT)).toBe(2);
  });
  it("a repurposing reset clears membership and keeps the history", () => {
    const r = new LifecycleRecord();
    r.account(0.1, 4.3, 0, 25, 0.9, 50, 2.5, 4.2, 10);
    for (let i = 0; i < 30; i++) r.account(0.1, 3.7, 0, 25, 0.9, 50, 2.5, 4.2, 10);
    r.joinPack(0xabcd, 3, 1000);
    r.repurpose();
    expect(r.currentPack()).toBe(0);
    expect(load<u16>(r.ptr + LifecycleOffset.MEMBERSHIP_COUNT)).toBe(0);
    expect(load<u16>(r.ptr + LifecycleOffset.FLAGS) & LifecycleFlag.REPURPOSED).toBe(LifecycleFlag.REPURPOSED);
    expect(r.eventCount(ExtremeEvent.OVER_VOLTAGE)).toBe(1);
    expect(load<u32>(r.ptr + LifecycleOffset.OPERATING_s)).toBe(3);
  });
  it("refuses a record of another version and keeps its own", () => {
    const r = new LifecycleRecord();
    r.addFault(7, 0, 1);
    const other = new StaticArray<u8>(LIFECYCLE_LENGTH);
    store<u16>(changetype<usize>(other), 9);
    expect(r.load(changetype<usize>(other), LIFECYCLE_LENGTH)).toBe(false);
    expect(load<u16>(r.ptr + LifecycleOffset.FAULT_COUNT)).toBe(1);
  });
});
