using Aha.Checkpoints;
using Aha.Tasks;

namespace Aha.Training;

/// <summary>
/// The training problems an RL trainer draws, and its exact position among them. The first pass is the task's own
/// order; when a finite split (a dataset file) runs out, the next pass reads it again in an order shuffled by the run's
/// seed and the epoch, so a long run cycles instead of failing. Generated tasks never run out.
/// </summary>
public sealed class ProblemStream(ITask task, long seed, Action<string> log) : IDisposable
{
    IEnumerator<TaskItem> _items = Order(task, seed, 0).GetEnumerator();
    long _inEpoch;

    /// <summary>Problems drawn so far, over all epochs.</summary>
    public long Drawn { get; private set; }
    /// <summary>Completed passes over the split (0 during the first).</summary>
    public long Epoch { get; private set; }

    public TaskItem Next()
    {
        if (!_items.MoveNext())
        {
            if (_inEpoch == 0) throw new InvalidOperationException($"task '{task.Name}' has no training problems; check --data and its split.");
            (Epoch, _inEpoch) = (Epoch + 1, 0);
            _items.Dispose();
            _items = Order(task, seed, Epoch).GetEnumerator();
            log($"task '{task.Name}': epoch {Epoch + 1} starts after {Drawn} problems (a new seeded order)");
            _items.MoveNext();
        }
        Drawn++;
        _inEpoch++;
        return _items.Current;
    }

    /// <summary><paramref name="state"/> with this position in its payload.</summary>
    public TrainingState SaveTo(TrainingState state) =>
        state.With("problem_cursor", Drawn).With("problem_epoch", Epoch).With("problem_epoch_cursor", _inEpoch);

    /// <summary>Moves to the position saved in <paramref name="state"/> (a checkpoint from before epochs counts the first pass).</summary>
    public void Restore(TrainingState state, string source)
    {
        long epoch = state.Get<long>("problem_epoch"), drawn = state.Get<long>("problem_cursor");
        long inEpoch = state.Payload.ContainsKey("problem_epoch_cursor") ? state.Get<long>("problem_epoch_cursor") : drawn;
        _items.Dispose();
        _items = Order(task, seed, epoch).GetEnumerator();
        for (long i = 0; i < inEpoch; i++)
            if (!_items.MoveNext())
                throw new InvalidDataException($"{source}: problem position {inEpoch} of epoch {epoch + 1} is past the task's {i} training problems, so the data changed. Resume with the same --data, or start a new run.");
        (Drawn, Epoch, _inEpoch) = (drawn, epoch, inEpoch);
    }

    /// <summary>The train split in epoch <paramref name="epoch"/>'s order: the task's own first, then a Fisher–Yates shuffle seeded by the epoch.</summary>
    static IEnumerable<TaskItem> Order(ITask task, long seed, long epoch)
    {
        var items = task.Items(TaskSplit.Train, seed);
        if (epoch == 0) return items;
        var list = items.ToList();
        StableRandom.For(seed, epoch).Shuffle(list);
        return list;
    }

    public void Dispose() => _items.Dispose();
}
