using Aha.Tasks.Answers;
using Aha.Tasks.Arithmetic;
using Aha.Tasks.Countdown;
using Aha.Tasks.Datasets;

namespace Aha.Tasks;

/// <summary>The built-in tasks by command-line name.</summary>
public static class TaskRegistry
{
    public static IReadOnlyList<string> Names { get; } = ["addition", "arithmetic", "countdown", "signs", "gsm8k", "math", "jsonl"];

    /// <summary>
    /// The demo's task: two-digit additions, the answer read only from <c>&lt;answer&gt;</c> (R1-Zero's rule: an answer
    /// outside the tags earns nothing), so the accuracy reward cannot be collected by a stray number in the reasoning.
    /// </summary>
    public static ArithmeticTask Addition() =>
        new(new ArithmeticOptions { MinDigits = 2, MaxDigits = 2, Operations = "+" }) { Verifier = new AnswerVerifier { Sources = AnswerSources.AnswerTag } };

    public static ITask Create(string name, TaskSettings? settings = null)
    {
        settings ??= new TaskSettings();
        switch (name.ToLowerInvariant())
        {
            case "addition":
                return Addition();
            case "arithmetic":
                return new ArithmeticTask(settings.Level == 0 ? null : ArithmeticOptions.Level(settings.Level));
            case "countdown":
                return new CountdownTask(new CountdownOptions { ExactlyOnce = settings.ExactlyOnce });
            case "signs":
                return new SignsTask();
            case "gsm8k" or "math" or "jsonl":
                var options = new DatasetOptions
                {
                    Format = DatasetOptions.ParseFormat(name),
                    PromptField = settings.PromptField,
                    AnswerField = settings.AnswerField,
                    SkipBadRows = settings.SkipBadRows,
                };
                var canonical = name.ToLowerInvariant();
                return settings.File is null ? new DatasetTask(canonical, options) : DatasetTask.Load(canonical, settings.File, options);
            default:
                throw new ArgumentException($"unknown task '{name}'; choose one of {string.Join(", ", Names)}.");
        }
    }
}
