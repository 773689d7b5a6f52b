using System.Globalization;
using Aha.Tasks;
using Aha.Tasks.Answers;
using Aha.Tasks.Datasets;

namespace Aha.Eval;

/// <summary>
/// Reads completions produced anywhere (another engine, an API) from JSONL or Parquet: fields <c>id</c>,
/// <c>answer</c> (gold; a GSM8K <c>… #### 42</c> or a MATH solution with <c>\boxed{}</c> is reduced to its final answer), <c>completion</c>; optional <c>prompt</c>, <c>tokens</c>, <c>truncated</c>. The gold is
/// checked by the task (e.g. Countdown needs <c>3 4 5 -> 17</c>, arithmetic an integer).
/// </summary>
public static class CompletionsFile
{
    public static LoadResult<CompletionRow> Read(string path, ITask task, bool skipBadRows) =>
        LoadResult<CompletionRow>.From(DataFiles.Read(path), row => ToRow(row, task), skipBadRows);

    public static CompletionRow ToRow(DataRow row, ITask task)
    {
        var id = row.Require("id");
        // A full GSM8K answer or MATH solution may be pasted as the gold: take its final answer.
        var answer = AnswerExtractor.Gold(row.Require("answer"));
        if (task.CheckGold(answer) is { } problem) throw new BadRowException(row.Location, "answer", problem);
        // An empty completion is a legitimate (wrong) model output; only a missing field is an error.
        var completion = row.Optional("completion") ?? throw new BadRowException(row.Location, "completion", "missing");
        int? tokens = null;
        if (row.Optional("tokens") is { } t)
        {
            if (!int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
                throw new BadRowException(row.Location, "tokens", $"'{t}' is not a non-negative integer");
            tokens = parsed;
        }
        var truncated = row.Optional("truncated") is { } tr && (tr == "true" || tr == "True" || tr == "1");
        return new CompletionRow(id, answer, completion)
        {
            Prompt = row.Optional("prompt"),
            Tokens = tokens,
            Truncated = truncated,
            Location = row.Location,
        };
    }
}
