using System.Diagnostics;

namespace Aha.Model;

/// <summary>
/// A few threads that stay awake between the many short kernels of a decode step and run parts of one job together.
/// </summary>
/// <remarks>
/// A projection at batch 1 takes 40–150 µs. Handing half of it to the .NET thread pool costs a wake-up of similar length,
/// so <c>Parallel.For</c> often ran both halves on the calling thread and the kernel streamed at one core's bandwidth
/// (about 10 GB/s against 23 with both cores; dev/LOG.md). These workers spin for <see cref="SpinMilliseconds"/> after
/// each job and then sleep, so a decode step keeps them hot and an idle process does not burn a core.
/// </remarks>
internal static class SpinWorkers
{
    const double SpinMilliseconds = 0.5;

    /// <summary>
    /// The parts a job is split into: libtorch's thread count, but no more than the processors this process may run on.
    /// Spinning threads that share a core take turns a scheduler tick at a time: with <c>--threads 4</c> on this 2-core
    /// machine, batch-1 decode fell from 480 to 38 tokens/s before this cap (dev/log/decode.md).
    /// </summary>
    public static int Parts => Math.Clamp(TorchSharp.torch.get_num_threads(), 1, Environment.ProcessorCount);

    static readonly Lock Gate = new();
    static Worker[] _workers = [];

    /// <summary>Runs <paramref name="part"/>(0 … parts−1), part 0 on the calling thread, and returns when all are done.</summary>
    public static void Run(int parts, Action<int> part)
    {
        if (parts <= 1)
        {
            part(0);
            return;
        }
        lock (Gate) // one job at a time; a second caller waits rather than sharing workers
        {
            if (_workers.Length < parts - 1)
                _workers = [.. _workers, .. Enumerable.Range(_workers.Length, parts - 1 - _workers.Length).Select(i => new Worker(i + 1))];
            for (int i = 0; i < parts - 1; i++) _workers[i].Start(part, i + 1);
            Exception? failure = null;
            try { part(0); }
            catch (Exception e) { failure = e; }
            for (int i = 0; i < parts - 1; i++) failure ??= _workers[i].Wait();
            if (failure is not null) throw new AggregateException(failure);
        }
    }

    sealed class Worker
    {
        readonly SemaphoreSlim _wake = new(0);
        Action<int>? _job;
        int _index, _posted, _finished, _sleeping;
        Exception? _failure;

        public Worker(int number) => new Thread(Loop) { IsBackground = true, Name = $"aha-spin-{number}" }.Start();

        public void Start(Action<int> job, int index)
        {
            (_job, _index, _failure) = (job, index, null);
            Interlocked.Increment(ref _posted); // full fence: the job is visible before the worker sees the new count
            if (Volatile.Read(ref _sleeping) == 1) _wake.Release();
        }

        public Exception? Wait()
        {
            var spin = new SpinWait();
            while (Volatile.Read(ref _finished) != Volatile.Read(ref _posted)) spin.SpinOnce(sleep1Threshold: -1);
            return _failure;
        }

        void Loop()
        {
            int seen = 0;
            while (true)
            {
                long idleSince = Stopwatch.GetTimestamp();
                while (Volatile.Read(ref _posted) == seen)
                {
                    if (Stopwatch.GetElapsedTime(idleSince).TotalMilliseconds < SpinMilliseconds)
                    {
                        Thread.SpinWait(20);
                        continue;
                    }
                    Interlocked.Exchange(ref _sleeping, 1);                // full fence before re-checking for work
                    if (Volatile.Read(ref _posted) == seen) _wake.Wait(); // a stale release only causes one more check
                    Interlocked.Exchange(ref _sleeping, 0);
                    idleSince = Stopwatch.GetTimestamp();
                }
                seen = Volatile.Read(ref _posted);
                try { _job!(_index); }
                catch (Exception e) { _failure = e; }
                Volatile.Write(ref _finished, seen);
            }
        }
    }
}
