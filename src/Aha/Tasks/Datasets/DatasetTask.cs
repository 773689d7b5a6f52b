using Aha.Tasks.Answers;

namespace Aha.Tasks.Datasets;

/// <summary>
/// Problems read from a JSONL or Parquet file in GSM8K, MATH or generic layout. Train/Test split the file by a
/// stable hash of the prompt (for a file that is not already split); All is every row in file order.
/// Without a file it is a verifier only, which is all <c>aha score</c> needs.
/// </summary>
public sealed class DatasetTask : ITask
{
    readonly IReadOnlyList<TaskItem> _items;

    public DatasetTask(string name, DatasetOptions options, IReadOnlyList<TaskItem>? items = null)
    {
        Name = name;
        Options = options;
        _items = items ?? [];
    }

    public string Name { get; }
    public DatasetOptions Options { get; }
    public AnswerVerifier Verifier { get; init; } = new();
    /// <summary>Rows skipped while loading (only with <see cref="DatasetOptions.SkipBadRows"/>).</summary>
    public int Skipped { get; private init; }
    public IReadOnlyList<string> Problems { get; private init; } = [];

    /// <summary>Loads every row of <paramref name="path"/>; a bad row throws with file:line and field unless skipping.</summary>
    public static DatasetTask Load(string name, string path, DatasetOptions options)
    {
        var task = new DatasetTask(name, options);
        var result = LoadResult<TaskItem>.From(DataFiles.Read(path), task.ToItem, options.SkipBadRows);
        return new DatasetTask(name, options, result.Items) { Skipped = result.Skipped, Problems = result.Problems };
    }

    public int Count => _items.Count;

    public IEnumerable<TaskItem> Items(TaskSplit split = TaskSplit.All, long seed = 0) =>
        _items.Where(item => SplitRule.Contains(split, $"{Name}:{item.Prompt}"));

    public Verdict Verify(string completion, TaskItem item) => Verifier.Verify(completion, item.Answer);

    public string? CheckGold(string gold)
    {
        if (string.IsNullOrWhiteSpace(gold)) return "gold answer is empty";
        return Options.RequiresNumericGold ? Verifier.CheckNumericGold(gold) : null;
    }

    /// <summary>One row to a problem: the prompt, and the gold found in the answer field by the format's rule.</summary>
    public TaskItem ToItem(DataRow row)
    {
        var prompt = row.Require(Options.Prompt);
        var reference = row.Require(Options.Answer);
        string gold;
        string? solution = null;
        switch (Options.Format)
        {
            case DatasetFormat.Gsm8k when Options.AnswerField is null:
                gold = AnswerExtractor.AfterHashes(reference)
                    ?? throw new BadRowException(row.Location, Options.Answer, "no '#### <answer>' line (GSM8K answers end with '#### 42')");
                solution = reference[..reference.LastIndexOf("####", StringComparison.Ordinal)].Trim();
                break;
            case DatasetFormat.Math when Options.AnswerField is null:
                gold = AnswerExtractor.LastBoxed(reference)
                    ?? throw new BadRowException(row.Location, Options.Answer, "no complete \\boxed{…} in the solution");
                solution = reference;
                break;
            default:
                gold = AnswerExtractor.Gold(reference);
                break;
        }
        if (CheckGold(gold) is { } problem) throw new BadRowException(row.Location, Options.Answer, problem);
        var id = row.Optional(Options.IdField) ?? row.Location;
        return new TaskItem(id, prompt, gold) { Solution = solution };
    }
}
