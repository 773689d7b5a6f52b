using System.Threading.Channels;

namespace Aha.Generation;

/// <summary>
/// One generated token and its log-probability (as in <see cref="Completion.LogProbs"/>); with
/// <see cref="SamplingOptions.TopLogProbs"/> set, also the most likely tokens of the same distribution, most likely first.
/// </summary>
public readonly record struct GeneratedToken(int Id, float LogProb, IReadOnlyList<GeneratedToken>? Top = null);

/// <summary>
/// A request running in a <see cref="ContinuousBatcher"/>: its tokens as they are sampled, then the whole completion.
/// Cancelling the token given to <see cref="ContinuousBatcher.Submit"/> frees the request's row at the next decode step;
/// <see cref="Tokens"/> and <see cref="Completion"/> then end with an <see cref="OperationCanceledException"/>.
/// </summary>
public sealed class GenerationStream
{
    readonly Channel<GeneratedToken> _tokens = Channel.CreateUnbounded<GeneratedToken>(new() { SingleReader = true, SingleWriter = true });
    readonly TaskCompletionSource<Completion> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal GenerationStream(int promptTokens) => PromptTokens = promptTokens;

    /// <summary>Prompt length in tokens.</summary>
    public int PromptTokens { get; }

    /// <summary>Tokens in the order they were sampled; completes when the request finishes.</summary>
    public ChannelReader<GeneratedToken> Tokens => _tokens.Reader;

    /// <summary>The finished completion (the same tokens, and why it ended).</summary>
    public Task<Completion> Completion => _completion.Task;

    internal void Write(GeneratedToken token) => _tokens.Writer.TryWrite(token);

    /// <summary>Set (by the decode loop, before it completes the stream) once the stream has ended.</summary>
    internal bool Ended { get; set; }

    internal void Finish(Completion completion)
    {
        _tokens.Writer.TryComplete();
        _completion.TrySetResult(completion);
    }

    internal void Fail(Exception error)
    {
        _tokens.Writer.TryComplete(error);
        if (error is OperationCanceledException cancelled) _completion.TrySetCanceled(cancelled.CancellationToken);
        else _completion.TrySetException(error);
    }
}

/// <summary>Thrown by <see cref="ContinuousBatcher.Submit"/> when its queue is full (a server answers 429).</summary>
public sealed class QueueFullException(int maxQueue)
    : InvalidOperationException($"the request queue is full ({maxQueue} waiting); retry later, or start the server with a larger --max-queue.");
