using Aha.Tasks;
using Aha.Tasks.Answers;
using Aha.Tasks.Arithmetic;
using Aha.Tasks.Countdown;
using Aha.Tasks.Datasets;
using Aha.Tasks.Rewards;

namespace Aha.Tests.Tasks;

/// <summary>Anything a model can write goes through extraction, verifiers and rewards without an exception.</summary>
public class FuzzTests
{
    static readonly string[] Pieces =
    [
        "<answer>", "</answer>", "<think>", "</think>", "\\boxed{", "\\boxed ", "\\fbox{", "{", "}", "\\{", "\\}", "\\frac", "\\dfrac{",
        "####", "#", "\\text{", "$", "$$", "\\(", "\\)", "%", "\\%", "−", "-", "+", "*", "/", "÷", "×", "=", ".", ",", "{,}", "\\,",
        "(", ")", "0", "7", "42", "3/4", "1,234", "99999999999999999999999999", "e", "x", " ", "\n", "€", "\\", "\ud800", "\udc00",
        "😀", "два", "我们", "\0", "\\left", "\\right",
    ];

    public static IEnumerable<object[]> Adversarial() =>
    [
        [new string('{', 100_000)],
        [new string('}', 100_000) + new string('{', 100_000)],
        ["\\boxed{" + new string('{', 50_000) + "5"],
        [string.Concat(Enumerable.Repeat("\\boxed{", 20_000))],
        [string.Concat(Enumerable.Repeat("\\frac{", 20_000))],
        [string.Concat(Enumerable.Repeat("\\frac{", 20_000)) + "1" + string.Concat(Enumerable.Repeat("}{2}", 20_000))],
        [string.Concat(Enumerable.Repeat("\\text{", 20_000)) + "1" + new string('}', 20_000)],
        [new string('9', 1_000_000)],
        ["<answer>" + new string('9', 200_000) + "</answer>"],
        ["<answer>" + new string('(', 100_000) + "</answer>"],
        ["<answer></answer>"],
        ["<answer>"],
        ["</answer>"],
        ["\\boxed{"],
        ["\\boxed"],
        ["####"],
        ["\\frac{1}{0}"],
        ["1/0"],
        ["0/0"],
        ["<answer>1/0</answer>"],
        ["<answer>6 / (4 - 4)</answer>"],
        ["\ud800"],
        [string.Concat(Enumerable.Repeat("1,", 100_000))],
        [string.Concat(Enumerable.Repeat("-", 100_000)) + "5"],
        [string.Concat(Enumerable.Repeat("$", 100_001))],
    ];

    [Theory]
    [MemberData(nameof(Adversarial))]
    public void Adversarial_strings_never_throw(string text) => Exercise(text);

    [Fact]
    public void Random_strings_never_throw()
    {
        var random = new StableRandom(12345);
        for (var i = 0; i < 3000; i++)
        {
            var length = random.Next(0, 40);
            var text = string.Concat(Enumerable.Range(0, length).Select(_ => random.Pick(Pieces)));
            Exercise(text);
            // Raw random UTF-16 too, lone surrogates included.
            Exercise(new string(Enumerable.Range(0, random.Next(0, 30)).Select(_ => (char)random.Next(0, 0xFFFF)).ToArray()));
        }
    }

    static readonly ITask[] Tasks =
    [
        new ArithmeticTask(), new CountdownTask(), new CountdownTask(new CountdownOptions { ExactlyOnce = true }),
        new DatasetTask("math", new DatasetOptions { Format = DatasetFormat.Math }),
    ];

    static readonly TaskItem[] Items =
    [
        new("a", "What is 2+3?", "5"), new("c", "", "3 4 5 6 -> 24"), new("m", "", "\\frac{\\pi}{2}"), new("bad", "", "not a puzzle"),
    ];

    static void Exercise(string text)
    {
        _ = AnswerExtractor.Extract(text);
        _ = AnswerExtractor.Gold(text);
        _ = AnswerNormalizer.Normalize(text);
        _ = AnswerNormalizer.Normalize(text, new EquivalenceOptions { StripPercent = false, StripCurrency = false });
        _ = AnswerEquivalence.AreEquivalent(text, "5");
        _ = AnswerEquivalence.AreEquivalent("5", text);
        _ = AnswerEquivalence.AreEquivalent(text, text);
        _ = CountdownPuzzle.TryParse(text, out _);
        foreach (var task in Tasks)
        {
            _ = task.CheckGold(text);
            foreach (var item in Items) _ = task.Verify(text, item);
            _ = task.Verify("<answer>5</answer>", new TaskItem("g", "", text));
        }
        var batch = new[] { new Completion(text, text, Items[0], text.Length, true) };
        foreach (var reward in new IRewardFunction[]
                 {
                     new AccuracyReward(Tasks[1]), new FormatReward(), new OverlongPenalty(256, 64), new LanguageConsistencyReward(),
                     new LanguageConsistencyReward(Script.Han),
                 })
            Assert.All(reward.Score(batch), score => Assert.True(float.IsFinite(score)));
    }
}
