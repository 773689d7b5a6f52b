namespace Aha.Tasks;

/// <summary>
/// One problem: what the model is asked, and the gold answer its verifier checks against.
/// <see cref="Solution"/> is a worked solution when the source has one (a GSM8K rationale, a Countdown expression),
/// useful for SFT or a pretraining corpus; verifiers never read it.
/// </summary>
public sealed record TaskItem(string Id, string Prompt, string Answer)
{
    public string? Solution { get; init; }
}
