import TestSupport
import Testing

@testable import Replication

/// Random histories of several replicas, checked against a model of what each replica has seen.
///
/// The model keeps, per replica, the set of writes it has seen for each field (each write with
/// its value and the set of writes it saw) and the set of entries. A register must hold exactly
/// the seen writes that no other seen write saw: that is "no value is lost unless a later write
/// saw it", and no superseded value comes back. Replicas whose models are equal must have equal
/// digests. Deltas travel through a network that duplicates, reorders and drops them; dropped
/// ones are re-sent later by computing a new delta.
@Suite("Convergence over random histories")
struct ConvergencePropertyTests {
    struct Write: Hashable {
        let dot: Dot
        let value: FieldValue
        let saw: Set<Dot>
    }

    struct FieldKey: Hashable {
        let record: RecordID
        let path: FieldPath
    }

    /// What a replica has seen, by field and by record.
    struct Model: Equatable {
        var writes: [FieldKey: Set<Dot>] = [:]
        var entries: [RecordID: Set<Dot>] = [:]

        mutating func absorb(_ other: Model) {
            for (key, dots) in other.writes { writes[key, default: []].formUnion(dots) }
            for (key, dots) in other.entries { entries[key, default: []].formUnion(dots) }
        }
    }

    struct SavedRead {
        let key: FieldKey
        let context: VersionVector
        let saw: Set<Dot>
    }

    struct Message {
        let to: Int
        let delta: Delta
        let payload: Model
    }

    struct World {
        var replicas: [Replica]
        var models: [Model]
        var reads: [[SavedRead]]
        var allWrites: [Dot: Write] = [:]
        var network: [Message] = []
        /// What each replica believes each peer has: advanced optimistically on every send, as a
        /// streaming sender would, so lost and reordered deltas leave real gaps at the receiver.
        var believed: [[VersionVector]]
        var random: SeededGenerator
        let recordIDs = (0..<4).map { Make.record("case-\($0)") }
        let paths = ["concern", "children.c1.location", "referrer.phone"].map(Make.path)

        init(seed: UInt64) {
            random = SeededGenerator(seed: seed)
            let count = Int.random(in: 3...5, using: &random)
            replicas = (0..<count).map { Replica(device: Make.device("device-\($0)")) }
            models = Array(repeating: Model(), count: count)
            reads = Array(repeating: [], count: count)
            believed = Array(repeating: Array(repeating: VersionVector(), count: count), count: count)
        }

        mutating func randomKey() -> FieldKey {
            FieldKey(record: recordIDs.randomElement(using: &random)!, path: paths.randomElement(using: &random)!)
        }

        /// The writes a register must hold: seen writes that no other seen write saw.
        func expectedSiblings(_ seen: Set<Dot>) -> [Dot] {
            let superseded = seen.reduce(into: Set<Dot>()) { $0.formUnion(allWrites[$1]?.saw ?? []) }
            return seen.subtracting(superseded).sorted()
        }

        mutating func write(at r: Int, key: FieldKey, stale: SavedRead?) {
            let value = FieldValue.integer(Int64.random(in: 0...1_000_000, using: &random))
            let saw = stale?.saw ?? models[r].writes[key] ?? []
            let dot = replicas[r].write(value, to: key.path, in: key.record, seen: stale?.context)
            allWrites[dot] = Write(dot: dot, value: value, saw: saw)
            models[r].writes[key, default: []].insert(dot)
        }

        mutating func step() {
            let r = Int.random(in: 0..<replicas.count, using: &random)
            var other = Int.random(in: 0..<replicas.count - 1, using: &random)
            if other >= r { other += 1 }
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<30:
                write(at: r, key: randomKey(), stale: nil)
            case 30..<38:
                let key = randomKey()
                let context = replicas[r].read(key.path, in: key.record)?.context ?? VersionVector()
                reads[r].append(SavedRead(key: key, context: context, saw: models[r].writes[key] ?? []))
            case 38..<46:
                if let stale = reads[r].randomElement(using: &random) {
                    write(at: r, key: stale.key, stale: stale)
                }
            case 46..<54:
                let id = recordIDs.randomElement(using: &random)!
                if let dot = try? replicas[r].append(kind: "note", payload: .string("n"), to: id) {
                    models[r].entries[id, default: []].insert(dot)
                }
            case 54..<62:
                replicas[r].merge(replicas[other])
                models[r].absorb(models[other])
            case 62..<80:
                send(from: other, to: r, optimistic: Bool.random(using: &random))
            default:
                deliver()
            }
        }

        mutating func send(from sender: Int, to receiver: Int, optimistic: Bool = false) {
            let base = optimistic ? believed[sender][receiver] : replicas[receiver].knowledge
            let delta = replicas[sender].delta(since: base)
            believed[sender][receiver] = base.joined(with: replicas[sender].knowledge)
            var payload = Model()
            for part in delta.records {
                for field in part.fields {
                    let key = FieldKey(record: part.id, path: field.path)
                    payload.writes[key] = models[sender].writes[key] ?? []
                }
                for entry in part.entries { payload.entries[part.id, default: []].insert(entry.dot) }
            }
            network.append(Message(to: receiver, delta: delta, payload: payload))
        }

        /// Delivers a random message (reordering); sometimes keeps it to deliver again
        /// (duplication), sometimes drops one instead.
        mutating func deliver() {
            guard !network.isEmpty else { return }
            let index = Int.random(in: 0..<network.count, using: &random)
            let roll = Int.random(in: 0..<10, using: &random)
            if roll == 0 {
                network.remove(at: index)  // dropped
                return
            }
            let message = roll <= 2 ? network[index] : network.remove(at: index)  // 2 in 10 duplicated
            replicas[message.to].apply(message.delta)
            models[message.to].absorb(message.payload)
        }

        /// Checks every replica against its model; returns a description of the first mismatch.
        func mismatch() -> String? {
            for (r, replica) in replicas.enumerated() {
                for (key, seen) in models[r].writes {
                    let expected = expectedSiblings(seen)
                    let register = replica[key.record]?.register(at: key.path)
                    let actual = register?.siblings.map(\.dot) ?? []
                    if actual != expected {
                        return "replica \(r) \(key.record).\(key.path): holds \(actual), expected \(expected)"
                    }
                    for sibling in register?.siblings ?? [] where allWrites[sibling.dot]?.value != sibling.value {
                        return "replica \(r) \(key.record).\(key.path): wrong value for \(sibling.dot)"
                    }
                }
                let conflicted = replica.records.values.reduce(0) { $0 + $1.conflictedPaths.count }
                if replica.conflictCount != conflicted || replica.conflicts.count != conflicted {
                    return "replica \(r): counts \(replica.conflictCount) conflicts, holds \(conflicted)"
                }
                for (id, record) in replica.records {
                    let fieldsInModel = Set(models[r].writes.keys.filter { $0.record == id }.map(\.path))
                    if Set(record.fields.map(\.path)) != fieldsInModel {
                        return "replica \(r) \(id): holds fields the model never saw"
                    }
                    if Set(record.entries.map(\.dot)) != models[r].entries[id] ?? [] {
                        return "replica \(r) \(id): entries differ from the model"
                    }
                }
            }
            for i in replicas.indices {
                for j in replicas.indices where i < j && models[i] == models[j] {
                    if replicas[i].digest() != replicas[j].digest() {
                        return "replicas \(i) and \(j) saw the same updates but digests differ"
                    }
                }
            }
            return nil
        }

        /// Delta syncs over a reliable network until nothing is left to send.
        mutating func settle() {
            for _ in 0..<2 {
                for i in replicas.indices {
                    for j in replicas.indices where i != j {
                        let delta = replicas[j].delta(since: replicas[i].knowledge)
                        send(from: j, to: i)
                        let message = network.removeLast()
                        #expect(message.delta == delta)
                        replicas[i].apply(message.delta)
                        models[i].absorb(message.payload)
                    }
                }
            }
        }
    }

    @Test(arguments: 0..<8)
    func randomHistoriesConvergeAndLoseNothing(batch: UInt64) {
        for history in 0..<250 {
            let seed = batch * 1_000 + UInt64(history)
            var world = World(seed: seed)
            let steps = Int.random(in: 10...60, using: &world.random)
            for step in 0..<steps {
                world.step()
                if let problem = world.mismatch() {
                    Issue.record("seed \(seed), step \(step): \(problem)")
                    return
                }
            }
            world.settle()
            if let problem = world.mismatch() {
                Issue.record("seed \(seed), after settling: \(problem)")
                return
            }
            let digests = Set(world.replicas.map { $0.digest() })
            #expect(digests.count == 1, "seed \(seed): replicas differ after a full exchange")
            var everything = Model()
            for model in world.models { everything.absorb(model) }
            #expect(world.models.allSatisfy { $0 == everything }, "seed \(seed): a replica missed an update")
            #expect(world.replicas.allSatisfy { $0.knowledge == world.replicas[0].knowledge })
            for replica in world.replicas {
                #expect(
                    replica.delta(since: world.replicas[0].knowledge).isEmpty,
                    "seed \(seed): a settled replica still has something to send")
            }
        }
    }

    @Test func fullMergeIsCommutativeAssociativeAndIdempotent() {
        for seed in UInt64(0)..<300 {
            var world = World(seed: 50_000 + seed)
            for _ in 0..<40 { world.step() }
            let (x, y, z) = (world.replicas[0], world.replicas[1], world.replicas[2])
            func merged(_ a: Replica, _ b: Replica) -> Replica {
                var m = a
                m.merge(b)
                return m
            }
            #expect(merged(x, y).digest() == merged(y, x).digest(), "seed \(seed): not commutative")
            #expect(
                merged(merged(x, y), z).digest() == merged(x, merged(y, z)).digest(), "seed \(seed): not associative")
            #expect(merged(x, x).digest() == x.digest(), "seed \(seed): not idempotent")
            #expect(merged(merged(x, y), y).digest() == merged(x, y).digest(), "seed \(seed): merging twice differs")
        }
    }
}
