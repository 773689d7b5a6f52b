namespace Aha.Eval;

/// <summary>
/// One completion to score: the problem id (rows sharing an id are samples of one problem), the gold answer and the
/// model's text; optionally the prompt, its token count and whether it was cut at the length limit.
/// </summary>
public sealed record CompletionRow(string Id, string Answer, string Completion)
{
    public string? Prompt { get; init; }
    public int? Tokens { get; init; }
    public bool Truncated { get; init; }
    /// <summary>file:line it came from, for messages.</summary>
    public string? Location { get; init; }
}
