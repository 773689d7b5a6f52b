using System.Text;
using Aha.Checkpoints;
using Aha.Data;
using Aha.Model;
using Aha.Tasks;
using Aha.Tasks.Answers;
using Aha.Tasks.Datasets;
using Aha.Tasks.Rewards;
using Aha.Tokenizer;
using Aha.Training;

namespace Aha.Faults;

/// <summary>
/// An input the fuzzer mutates: a valid seed file, how Aha reads it, and what a rejection must look like.
/// </summary>
/// <param name="Read">Reads the file completely (enumerating every row).</param>
/// <param name="Rejections">The documented error types; anything else thrown is a crash.</param>
/// <param name="Where">Given the file's path, the text every rejection message must contain (file, and line for rows).</param>
public sealed record FuzzTarget(string Name, string FileName, byte[] Seed, Action<string> Read, Type[] Rejections, Func<string, string, bool> Where);

/// <summary>How a target fared: cases read without complaint, rejected as documented, and failures (crash, or a rejection not naming where).</summary>
public sealed record FuzzReport(string Target, int Cases, int Accepted, int Rejected, IReadOnlyList<string> Failures);

/// <summary>Feeds seeded mutations of valid input files to Aha's readers and verifiers and checks every outcome.</summary>
public static class InputFuzzer
{
    static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>Every fuzz target: training JSONL (texts, prompt/completion, conversations), task datasets (JSONL, Parquet), config.json, tokenizer.json (Aha's byte tokenizer and a Hugging Face BPE folder), tokenizer_config.json, chat templates, generation_config.json, model outputs.</summary>
    public static IReadOnlyList<FuzzTarget> Targets(byte[] parquetSeed)
    {
        var config = ModelPresets.Get("tiny", 64);
        string tokenizer = TokenizerFiles.Render(config.MaxPositionEmbeddings).First(f => f.Name == TokenizerFiles.TokenizerJson).Text;
        Type[] invalid = [typeof(InvalidDataException)];
        Type[] badRow = [typeof(BadRowException)];
        // A row names file:line; the messages of a whole-file reader name the file.
        static bool Line(string message, string path) =>
            System.Text.RegularExpressions.Regex.IsMatch(message, System.Text.RegularExpressions.Regex.Escape(path) + @":\d+");
        static bool RowOfFile(string message, string path) =>
            System.Text.RegularExpressions.Regex.IsMatch(message, System.Text.RegularExpressions.Regex.Escape(Path.GetFileName(path)) + @":\d+");
        static bool File(string message, string path) => message.Contains(path, StringComparison.Ordinal);
        static bool FileOrRow(string message, string path) => message.Contains(Path.GetFileName(path), StringComparison.Ordinal);
        var math = new DatasetOptions { Format = DatasetFormat.Math };
        var gsm8k = new DatasetOptions { Format = DatasetFormat.Gsm8k };
        return
        [
            new("pretraining JSONL", "texts.jsonl", Utf8("{\"text\":\"12+30=42\"}\n{\"text\":\"héllo wörld\",\"id\":3}\n\n{\"text\":\"\"}\n"),
                p => _ = JsonlReader.ReadTexts(p).ToList(), invalid, Line),
            new("SFT prompt/completion JSONL", "sft.jsonl", Utf8("{\"prompt\":\"2+2?\",\"completion\":\"4\"}\n{\"prompt\":\"a\",\"completion\":\"b\"}\n"),
                p => _ = JsonlReader.ReadPromptCompletions(p).ToList(), invalid, Line),
            new("SFT conversations JSONL", "chat.jsonl",
                Utf8("{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"2+2?\"},{\"role\":\"assistant\",\"content\":\"4\"}]}\n"),
                p => _ = JsonlReader.ReadConversations(p).ToList(), invalid, Line),
            new("GSM8K JSONL", "gsm8k.jsonl", Utf8("{\"question\":\"1+1?\",\"answer\":\"so\\n#### 2\"}\n{\"question\":\"2+2?\",\"answer\":\"#### 4\"}\n"),
                p => _ = DatasetTask.Load("gsm8k", p, gsm8k).Items().ToList(), badRow, RowOfFile),
            new("MATH JSONL", "math.jsonl", Utf8("{\"problem\":\"x?\",\"solution\":\"so \\\\boxed{\\\\frac{1}{2}}\"}\n{\"problem\":\"y\",\"solution\":\"\\\\boxed{3}\"}\n"),
                p => _ = DatasetTask.Load("math", p, math).Items().ToList(), badRow, RowOfFile),
            new("GSM8K Parquet", "gsm8k.parquet", parquetSeed,
                p => _ = DatasetTask.Load("gsm8k", p, gsm8k).Items().ToList(), [typeof(BadRowException), typeof(InvalidDataException)], FileOrRow),
            new("config.json", "config.json", Utf8(config.ToJson()), p => ModelConfig.FromJson(System.IO.File.ReadAllText(p), p), invalid, File),
            new("tokenizer.json", "tokenizer.json", Utf8(tokenizer), p => ByteTokenizer.Load(p), invalid, File),
            new("generation_config.json", "generation_config.json", Utf8(GenerationConfig.For(ModelPresets.Tokenizer(config)).ToJson()),
                p => GenerationConfig.FromJson(System.IO.File.ReadAllText(p), p), invalid, File),
            new("model outputs to verifiers and rewards", "completion.txt",
                Utf8("<think>7 * 6 = 42, so\n</think>\n<answer>\\boxed{\\frac{84}{2}}</answer> #### 42"), p => Verify(System.IO.File.ReadAllText(p)), [], (_, _) => false),
            .. HfTokenizerFuzz.Targets(),
        ];
    }

    /// <summary>Runs <paramref name="cases"/> mutations of <paramref name="target"/>'s seed (the unmutated seed first) in <paramref name="scratch"/>.</summary>
    public static FuzzReport Run(FuzzTarget target, int cases, int seed, string scratch)
    {
        var random = new Random(seed);
        string path = Path.Combine(scratch, target.FileName);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        int accepted = 0, rejected = 0;
        var failures = new List<string>();
        for (int i = 0; i < cases; i++)
        {
            byte[] input = i == 0 ? target.Seed : Mutator.Mutate(target.Seed, random);
            System.IO.File.WriteAllBytes(path, input);
            try
            {
                target.Read(path);
                accepted++;
            }
            catch (Exception e) when (target.Rejections.Contains(e.GetType()))
            {
                rejected++;
                if (!target.Where(e.Message, path)) failures.Add($"case {i}: rejected without naming where: {e.Message}");
            }
            catch (Exception e)
            {
                failures.Add($"case {i}: unhandled {e.GetType().Name}: {e.Message.Split('\n')[0]}");
                if (i == 0) break; // the seed itself fails: the target is broken, not the mutations
            }
        }
        return new(target.Name, cases, accepted, rejected, failures);
    }

    static readonly ITask[] Tasks = [new Aha.Tasks.Arithmetic.ArithmeticTask(), new Aha.Tasks.Countdown.CountdownTask(), new DatasetTask("math", new DatasetOptions { Format = DatasetFormat.Math })];

    /// <summary>A completion through extraction, every task's verifier and every reward: nothing may throw, every score is finite.</summary>
    static void Verify(string text)
    {
        _ = AnswerExtractor.Extract(text);
        _ = AnswerNormalizer.Normalize(text);
        _ = AnswerEquivalence.AreEquivalent(text, "42");
        var item = new TaskItem("x", "What is 6*7?", "42");
        foreach (var task in Tasks)
        {
            _ = task.Verify(text, item);
            _ = task.CheckGold(text);
        }
        var batch = new[] { new Aha.Tasks.Rewards.Completion(text, text, item, text.Length, true) };
        foreach (var reward in new IRewardFunction[] { new AccuracyReward(Tasks[0]), new FormatReward(), new OverlongPenalty(64, 16), new LanguageConsistencyReward() })
            foreach (float score in reward.Score(batch))
                if (!float.IsFinite(score)) throw new InvalidOperationException($"{reward.GetType().Name} scored {score}");
    }

    /// <summary>A two-row GSM8K Parquet file, as a Hugging Face export holds it.</summary>
    public static byte[] ParquetSeed()
    {
        using var stream = new MemoryStream();
        Parquet.Serialization.ParquetSerializer.SerializeAsync(
            new[] { new Gsm8kRow { Question = "1+1?", Answer = "so\n#### 2" }, new Gsm8kRow { Question = "2+2?", Answer = "#### 4" } }, stream).GetAwaiter().GetResult();
        return stream.ToArray();
    }

    sealed class Gsm8kRow
    {
        [System.Text.Json.Serialization.JsonPropertyName("question")] public string Question { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("answer")] public string Answer { get; set; } = "";
    }
}
