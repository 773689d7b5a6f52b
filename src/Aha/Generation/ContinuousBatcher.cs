using Aha.Model;
using static TorchSharp.torch;

namespace Aha.Generation;

/// <summary>
/// Continuous batching over an <see cref="Engine"/>'s model, for servers: one decode loop on its own thread. A submitted
/// request waits in a bounded queue; at the next step with a free row it is prefilled (with the others admitted then, as one
/// left-padded batch) and joins the running batch's KV cache (<see cref="KvCache.Regroup"/>); a request that stops, reaches
/// its limit or is cancelled leaves and frees its row. Each request keeps its own sampling options, stop rule and seeded
/// generator (one draw per token, the rule of <see cref="Engine.Generate"/>), so its tokens do not depend on which other
/// requests share the batch, and greedy requests get what <see cref="Engine.Generate"/> gives. Thread-safe.
/// </summary>
public sealed class ContinuousBatcher : IDisposable
{
    readonly Engine _engine;
    readonly LlamaModel _model;
    readonly Queue<Pending> _queue = new();
    readonly object _lock = new();
    readonly Thread _thread;
    readonly List<Row> _rows = [];    // the request behind each cache row, in row order
    KvCache? _cache;
    bool _disposed, _paused;

    /// <param name="maxBatch">rows decoded together at most</param>
    /// <param name="maxQueue">requests waiting for a row at most; <see cref="Submit"/> throws <see cref="QueueFullException"/> beyond</param>
    public ContinuousBatcher(Engine engine, int maxBatch = 32, int maxQueue = 256)
    {
        if (maxBatch <= 0) throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch, "max batch must be positive.");
        if (maxQueue < 0) throw new ArgumentOutOfRangeException(nameof(maxQueue), maxQueue, "max queue must be ≥ 0.");
        (_engine, _model, MaxBatch, MaxQueue) = (engine, engine.Model, maxBatch, maxQueue);
        _thread = new Thread(Loop) { IsBackground = true, Name = "aha-decode" };
        _thread.Start();
    }

    public int MaxBatch { get; }
    public int MaxQueue { get; }

    /// <summary>Positions the model accepts (config <c>max_position_embeddings</c>): prompt plus new tokens must fit.</summary>
    public int ContextLength => _model.Config.MaxPositionEmbeddings;

    /// <summary>Requests decoding now, and waiting for a row.</summary>
    public (int Running, int Queued) Load { get { lock (_lock) return (Volatile.Read(ref _running), _queue.Count); } }
    int _running;

    /// <summary>Requests that left because they were cancelled (e.g. the client disconnected), since start.</summary>
    public int Cancelled => Volatile.Read(ref _cancelled);
    int _cancelled;

    /// <summary>Decode steps run since start (prefills excluded).</summary>
    public long Steps => Interlocked.Read(ref _steps);
    long _steps;

    /// <summary>While true no request is admitted (running ones continue): lets a test fill the queue deterministically.</summary>
    internal bool Paused
    {
        get { lock (_lock) return _paused; }
        set { lock (_lock) { _paused = value; Monitor.PulseAll(_lock); } }
    }

    /// <summary>A pause after every decode step: lets a test disconnect while a request is surely still running.</summary>
    internal TimeSpan StepDelay { get; set; }

    /// <summary>Queues a request. Throws <see cref="ArgumentException"/> for a prompt that cannot run and <see cref="QueueFullException"/> when the queue is full.</summary>
    /// <param name="stop">optional per-token check (e.g. <see cref="StopStrings.After"/>); its row argument is always 0</param>
    public GenerationStream Submit(GenerationRequest request, SamplingOptions options, StopPredicate? stop = null, CancellationToken cancel = default)
    {
        options.Validate();
        _engine.Validate([request]);
        if (request.PromptIds.Count + options.MaxNewTokens > ContextLength)
            throw new ArgumentException($"prompt ({request.PromptIds.Count} tokens) + max new tokens ({options.MaxNewTokens}) exceeds the model's context of {ContextLength} positions; ask for at most {Math.Max(0, ContextLength - request.PromptIds.Count)} new tokens.");
        var stream = new GenerationStream(request.PromptIds.Count);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_queue.Count >= MaxQueue) throw new QueueFullException(MaxQueue);
            _queue.Enqueue(new Pending(request, options, stop, cancel, stream));
            Monitor.PulseAll(_lock);
        }
        return stream;
    }

    sealed record Pending(GenerationRequest Request, SamplingOptions Options, StopPredicate? Stop, CancellationToken Cancel, GenerationStream Stream);

    sealed class Row(Pending pending)
    {
        public readonly Pending Pending = pending;
        public readonly List<int> Tokens = [];
        public readonly List<float> LogProbs = [];
        public readonly Engine.SplitMix64 Generator = new(unchecked((ulong)pending.Request.Seed));
        public int Start;                 // first real slot of this row in the cache
        public long Next;                 // the sampled token fed at the next step
        public bool Done;
        public int PromptLength => Pending.Request.PromptIds.Count;
        public int Remaining => Pending.Options.MaxNewTokens - Tokens.Count;
    }

    void Loop()
    {
        using var inference = inference_mode();
        while (true)
        {
            List<Pending> admitted;
            lock (_lock)
            {
                while (!_disposed && _rows.Count == 0 && (_queue.Count == 0 || _paused)) Monitor.Wait(_lock);
                if (_disposed) break;
                admitted = [];
                while (!_paused && _queue.Count > 0 && _rows.Count + admitted.Count < MaxBatch) admitted.Add(_queue.Dequeue());
                Interlocked.Add(ref _running, admitted.Count);
            }
            try
            {
                Step(admitted);
            }
            catch (Exception e) // a failing step fails its requests, never the loop
            {
                foreach (var pending in _rows.Select(r => r.Pending).Concat(admitted)) End(pending.Stream, e);
                _rows.Clear();
                _cache?.Dispose();
                _cache = null;
            }
        }
        foreach (var row in _rows) row.Pending.Stream.Fail(new ObjectDisposedException(nameof(ContinuousBatcher)));
        _cache?.Dispose();
        lock (_lock) foreach (var pending in _queue) pending.Stream.Fail(new ObjectDisposedException(nameof(ContinuousBatcher)));
    }

    void Step(List<Pending> admitted)
    {
        foreach (var row in _rows)
            if (!row.Done && row.Pending.Cancel.IsCancellationRequested) Cancel(row);
        var joining = admitted.Where(p => !p.Cancel.IsCancellationRequested).Select(p => new Row(p)).ToList();
        foreach (var pending in admitted.Where(p => p.Cancel.IsCancellationRequested))
        {
            Interlocked.Increment(ref _cancelled);
            End(pending.Stream, new OperationCanceledException(pending.Cancel));
        }
        using var scope = NewDisposeScope();
        KvCache? prefilled = joining.Count > 0 ? Prefill(joining) : null;
        try
        {
            if (prefilled is not null || _rows.Any(r => r.Done)) Regroup(joining, prefilled);
        }
        finally
        {
            prefilled?.Dispose();
        }
        if (_rows.Count == 0 || _cache is null) return;

        var device = _model.parameters().First().device;
        int rows = _rows.Count, length = _cache.Length;
        var ids = tensor(_rows.Select(r => r.Next).ToArray(), [rows, 1], device: device);                                    // (rows, 1)
        var positions = tensor(_rows.Select(r => (long)(r.PromptLength + r.Tokens.Count - 1)).ToArray(), [rows, 1], device: device);
        var starts = tensor(_rows.Select(r => (long)r.Start).ToArray(), [rows, 1], device: device);
        var mask = arange(length + 1, dtype: int64, device: device).unsqueeze(0).ge(starts).to(int64);                      // (rows, length + 1) 1 = real slot
        var logits = _model.LastLogits(ids, positions, mask, _cache);                                                        // (rows, V)
        Interlocked.Increment(ref _steps);
        SampleAndDeliver(logits, _rows);
        if (StepDelay > TimeSpan.Zero) Thread.Sleep(StepDelay);
    }

    // The admitted prompts as one left-padded batch over a cache of their own (what Engine.Generate's prefill does); samples each first token.
    KvCache Prefill(List<Row> joining)
    {
        var requests = joining.Select(r => r.Pending.Request).ToList();
        int[] lengths = requests.Select(r => r.PromptIds.Count).ToArray();
        int width = lengths.Max();
        var device = _model.parameters().First().device;
        var cache = _model.NewCache(joining.Count, width);
        try
        {
            var ids = tensor(_engine.LeftPadded(requests, width), [joining.Count, width], device: device); // (J, P)
            var prompt = Engine.AttentionMask(lengths, width, width, device);                              // (J, P)
            var positions = (prompt.cumsum(-1) - 1).clamp_min(0);
            var logits = _model.LastLogits(ids, positions, prompt, cache);                                  // (J, V)
            for (int i = 0; i < joining.Count; i++) joining[i].Start = width - lengths[i];
            SampleAndDeliver(logits, joining);
            return cache;
        }
        catch
        {
            cache.Dispose();
            throw;
        }
    }

    // Drops rows that left and slots no remaining row uses, appends the prefilled rows, and sizes the cache for the longest remaining budget.
    void Regroup(List<Row> joining, KvCache? prefilled)
    {
        var keep = Enumerable.Range(0, _rows.Count).Where(i => !_rows[i].Done).ToArray();
        var kept = keep.Select(i => _rows[i]).ToList();
        var stillJoining = joining.Where(r => !r.Done).ToList();
        int oldLength = _cache?.Length ?? 0;
        int dropFront = kept.Count > 0 ? kept.Min(r => r.Start) : oldLength;
        var all = kept.Concat(stillJoining).ToList();
        if (all.Count == 0)
        {
            _rows.Clear();
            _cache?.Dispose();
            _cache = null;
            return;
        }
        // A prompt can finish at its first token (a stop id, max_tokens 1): it never enters the running cache.
        if (prefilled is not null && stillJoining.Count > 0 && stillJoining.Count < joining.Count)
            prefilled.SelectRows(Enumerable.Range(0, joining.Count).Where(i => !joining[i].Done).Select(i => (long)i).ToArray());
        var joined = stillJoining.Count > 0 ? prefilled : null;
        int keptLength = oldLength - dropFront, joinedLength = joined?.Length ?? 0, length = Math.Max(keptLength, joinedLength);
        int capacity = length + all.Max(r => r.Remaining);
        KvCache next = _cache is not null
            ? _cache.Regroup(keep.Select(i => (long)i).ToArray(), dropFront, joined, capacity)
            : joined!.Regroup(Enumerable.Range(0, joined.Batch).Select(i => (long)i).ToArray(), 0, null, capacity);
        foreach (var row in kept) row.Start += length - keptLength - dropFront;
        foreach (var row in stillJoining) row.Start += length - joinedLength;
        _cache?.Dispose();
        _cache = next;
        _rows.Clear();
        _rows.AddRange(all);
    }

    // Rows with equal sampling settings are sampled together (usually all of them), each from its own generator.
    void SampleAndDeliver(Tensor logits /* (rows, V) */, List<Row> rows)
    {
        foreach (var group in Enumerable.Range(0, rows.Count).Where(i => !rows[i].Done)
                     .GroupBy(i => (rows[i].Pending.Options.Temperature, rows[i].Pending.Options.TopK, rows[i].Pending.Options.TopP)))
        {
            var members = group.ToArray();
            using var index = tensor(members.Select(i => (long)i).ToArray(), device: logits.device);
            using var selected = members.Length == rows.Count ? null : logits.index_select(0, index);
            var generators = members.Select(i => rows[i].Generator).ToArray();
            // The group shares temperature, top-k and top-p; rows may ask for different numbers of alternatives.
            int alternatives = members.Max(i => rows[i].Pending.Options.TopLogProbs);
            var (ids, logProbs) = Engine.Sample(selected ?? logits, rows[members[0]].Pending.Options, [.. Enumerable.Range(0, members.Length)], generators,
                new FinishReason?[members.Length], alternatives, out var top);
            for (int j = 0; j < members.Length; j++)
            {
                int wanted = rows[members[j]].Pending.Options.TopLogProbs;
                Deliver(rows[members[j]], (int)ids[j], logProbs[j], top is null || wanted == 0 ? null : top[j][..Math.Min(wanted, top[j].Length)]);
            }
        }
    }

    void Deliver(Row row, int id, float logProb, GeneratedToken[]? top)
    {
        row.Tokens.Add(id);
        row.LogProbs.Add(logProb);
        row.Next = id;
        var pending = row.Pending;
        pending.Stream.Write(new GeneratedToken(id, logProb, top));
        bool stopped;
        try
        {
            stopped = pending.Options.StopTokenIds.Contains(id) || (pending.Stop?.Invoke(0, row.Tokens) ?? false);
        }
        catch (Exception e) // the caller's predicate failed: that request ends with its error, the batch carries on
        {
            row.Done = true;
            End(pending.Stream, e);
            return;
        }
        FinishReason? finish = stopped ? FinishReason.Stop : row.Remaining == 0 ? FinishReason.Length : null;
        if (finish is not { } reason) return;
        row.Done = true;
        Retire(pending.Stream);
        pending.Stream.Finish(new Completion(row.Tokens.ToArray(), row.LogProbs.ToArray(), reason));
    }

    void Cancel(Row row)
    {
        row.Done = true;
        Interlocked.Increment(ref _cancelled);
        End(row.Pending.Stream, new OperationCanceledException(row.Pending.Cancel));
    }

    void End(GenerationStream stream, Exception error)
    {
        if (stream.Ended) return;
        Retire(stream);
        stream.Fail(error);
    }

    // The row counts as free before the caller's continuation can run (Load is exact once a completion is observed).
    void Retire(GenerationStream stream)
    {
        stream.Ended = true;
        Interlocked.Decrement(ref _running);
    }

    /// <summary>Stops the loop after its current step; requests still running or queued fail with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            Monitor.PulseAll(_lock);
        }
        _thread.Join();
    }
}
