using Aha.Tasks;
using Aha.Tasks.Arithmetic;
using ChatMessage = Aha.Tokenizer.ChatMessage;

namespace Aha.Data;

/// <summary>
/// Training text that needs no files: endless worked arithmetic problems (levels 1–4 in turn), so `aha pretrain` and
/// `aha sft` run out of the box; <c>reasoning</c>, the demo's corpus (see <see cref="ReasoningCorpus"/>); and <c>cai</c>, the
/// demo's corpus mixed with judgements and critiques that teach a byte model to be its own Constitutional AI feedback model (see <see cref="JudgementCorpus"/>). Own text comes through <c>--data FILE.jsonl</c>.
/// </summary>
public static class BuiltinCorpus
{
    /// <summary>Names accepted by <c>--corpus</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["arithmetic", "reasoning", "cai"];


    const int Levels = 4;

    /// <summary>Endless pretraining documents, e.g. <c>What is 23+58?\n23+58 = 81\nThe answer is 81.</c></summary>
    /// <param name="split">Train for training, Test for validation: the two never share a problem.</param>
    public static IEnumerable<string> Documents(string name, TaskSplit split, long seed = 0) => name switch
    {
        "reasoning" => new ReasoningCorpus(TaskRegistry.Addition()).Documents(seed, split),
        "cai" => new JudgementCorpus(TaskRegistry.Addition()).Documents(seed, split),
        _ => Items(name, split, seed).Select(item => $"{item.Prompt}\n{Worked(item)}"),
    };

    /// <summary>Endless SFT conversations: the problem as the user turn, the worked solution as the assistant turn.</summary>
    public static IEnumerable<IReadOnlyList<ChatMessage>> Conversations(string name, TaskSplit split, long seed = 0) => name is "reasoning" or "cai"
        ? throw new ArgumentException($"--corpus {name} is a pretraining corpus (it mixes good and bad answers on purpose); for sft use --corpus arithmetic or --data FILE.jsonl.")
        : Items(name, split, seed).Select(item => (IReadOnlyList<ChatMessage>)[new("user", item.Prompt), new("assistant", Worked(item))]);

    static string Worked(TaskItem item) => $"{item.Solution}\nThe answer is {item.Answer}.";

    static IEnumerable<TaskItem> Items(string name, TaskSplit split, long seed)
    {
        if (name != "arithmetic") throw new ArgumentException($"--corpus '{name}': expected one of {string.Join(", ", Names)}, or give --data FILE.jsonl.");
        var streams = Enumerable.Range(1, Levels)
            .Select(level => new ArithmeticTask(ArithmeticOptions.Level(level)).Items(split, seed + level).GetEnumerator())
            .ToArray();
        try
        {
            for (long i = 0; ; i++)
            {
                var stream = streams[i % Levels];
                stream.MoveNext(); // generated tasks never end
                yield return stream.Current;
            }
        }
        finally
        {
            foreach (var s in streams) s.Dispose();
        }
    }
}
