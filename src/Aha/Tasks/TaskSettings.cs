using Aha.Tasks.Datasets;

namespace Aha.Tasks;

/// <summary>What the command line may say about a task; each task reads the settings that concern it.</summary>
public sealed record TaskSettings
{
    /// <summary>Arithmetic difficulty 1–6 (0: the default options).</summary>
    public int Level { get; init; }
    /// <summary>Countdown: every number exactly once instead of at most once.</summary>
    public bool ExactlyOnce { get; init; }
    /// <summary>Dataset tasks: the JSONL or Parquet file; without it the task can verify but not list problems.</summary>
    public string? File { get; init; }
    public string? PromptField { get; init; }
    public string? AnswerField { get; init; }
    public bool SkipBadRows { get; init; }
}
