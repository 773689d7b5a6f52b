using System.CommandLine;
using Aha.Tasks;

namespace Aha.Cli.Commands;

/// <summary>The options every task-taking command shares, declared once.</summary>
sealed class TaskOptions
{
    readonly Option<int> _level = new("--level") { Description = "Arithmetic difficulty 1-6 (default: 1-2 digit + and -)." };
    readonly Option<bool> _exactlyOnce = new("--exactly-once") { Description = "Countdown: use every number exactly once (default: at most once)." };
    readonly Option<string?> _file = new("--data") { Description = "gsm8k/math/jsonl: the dataset file (.jsonl or .parquet)." };
    readonly Option<string?> _promptField = new("--prompt-field") { Description = "Dataset field holding the problem (default by format: question, problem, prompt)." };
    readonly Option<string?> _answerField = new("--answer-field") { Description = "Dataset field holding the gold (default by format: answer, solution, answer)." };
    readonly Option<bool> _skipBadRows = new("--skip-bad-rows") { Description = "Skip malformed rows and report how many, instead of stopping at the first." };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _level, _exactlyOnce, _file, _promptField, _answerField, _skipBadRows })
            command.Options.Add(option);
    }

    public TaskSettings Read(ParseResult result) => new()
    {
        Level = result.GetValue(_level),
        ExactlyOnce = result.GetValue(_exactlyOnce),
        File = result.GetValue(_file),
        PromptField = result.GetValue(_promptField),
        AnswerField = result.GetValue(_answerField),
        SkipBadRows = result.GetValue(_skipBadRows),
    };
}
