using Aha.Tasks.Arithmetic;
using Aha.Tasks.Countdown;
using Aha.Tasks.Datasets;

namespace Aha.Tasks;

/// <summary>The built-in tasks by command-line name.</summary>
public static class TaskRegistry
{
    public static IReadOnlyList<string> Names { get; } = ["arithmetic", "countdown", "gsm8k", "math", "jsonl"];

    public static ITask Create(string name, TaskSettings? settings = null)
    {
        settings ??= new TaskSettings();
        switch (name.ToLowerInvariant())
        {
            case "arithmetic":
                return new ArithmeticTask(settings.Level == 0 ? null : ArithmeticOptions.Level(settings.Level));
            case "countdown":
                return new CountdownTask(new CountdownOptions { ExactlyOnce = settings.ExactlyOnce });
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
