using Aha.Tasks;
using Aha.Tasks.Arithmetic;
using Aha.Tasks.Rewards;

namespace Aha.Tests.Tasks.Rewards;

public class RewardTests
{
    static readonly TaskItem Item = new("1", "What is 2+3?", "5");

    static Completion C(string text, string prompt = "What is 2+3?", int tokens = 0) => new(prompt, text, Item, tokens);

    [Theory]
    [InlineData("<think>2+3 is 5</think> <answer>5</answer>", 1f)]
    [InlineData("<answer>5</answer>", 1f)]                      // the verifier is the task's, format is not its business
    [InlineData("<think>5</think><answer>6</answer>", 0f)]
    [InlineData("", 0f)]
    public void Accuracy_is_the_tasks_verdict(string text, float expected) =>
        Assert.Equal(expected, new AccuracyReward(new ArithmeticTask()).Score([C(text)])[0]);

    [Theory]
    [InlineData("<think>2+3 is 5</think> <answer>5</answer>", 1f)]
    [InlineData("  <think>\nx\n</think>\n<answer> 5 </answer>\n", 1f)]
    [InlineData("<think></think><answer>5</answer>", 1f)]            // empty reasoning is still the format
    [InlineData("<think>x</think><answer> </answer>", 0f)]           // the answer must not be blank
    [InlineData("<think>x</think>", 0f)]
    [InlineData("<answer>5</answer>", 0f)]
    [InlineData("<answer>5</answer><think>x</think>", 0f)]           // order
    [InlineData("<think>x</think> so <answer>5</answer>", 0f)]       // text between the blocks
    [InlineData("hi <think>x</think><answer>5</answer>", 0f)]        // text before
    [InlineData("<think>x</think><answer>5</answer> bye", 0f)]       // text after
    [InlineData("<think>x<think>y</think><answer>5</answer>", 0f)]   // a tag twice
    [InlineData("<think>x</think><answer>5</answer><answer>6</answer>", 0f)]
    [InlineData("<think>x</think><answer>5", 0f)]                    // unterminated
    [InlineData("<think>x</answer><answer>5</think>", 0f)]
    public void Format_requires_think_then_answer_each_once(string text, float expected) =>
        Assert.Equal(expected, new FormatReward().Score([C(text)])[0]);

    [Theory]
    [InlineData(" 2+3 is 5 </think> <answer>5</answer>", 1f)]
    [InlineData("<think> 2+3 </think> <answer>5</answer>", 0f)]   // a second <think> after the prompt's
    [InlineData("2+3</think><answer>5</answer>", 1f)]
    public void Format_counts_a_think_tag_that_ends_the_prompt(string text, float expected) =>
        Assert.Equal(expected, new FormatReward().Score([C(text, "User: What is 2+3?\nAssistant: <think>")])[0]);

    [Fact]
    public void Format_can_allow_trailing_text() =>
        Assert.Equal(1f, new FormatReward { AllowTrailingText = true }.Score([C("<think>x</think><answer>5</answer> bye")])[0]);

    [Theory]
    // L_max = 100, L_cache = 20: free up to 80, then linear to -1 at 100.
    [InlineData(0, 0f)]
    [InlineData(80, 0f)]
    [InlineData(81, -0.05f)]
    [InlineData(90, -0.5f)]
    [InlineData(100, -1f)]
    [InlineData(150, -1f)]
    public void Overlong_penalty_is_DAPOs_soft_ramp(int tokens, float expected) =>
        Assert.Equal(expected, new OverlongPenalty(100, 20).Score([C("", tokens: tokens)])[0], precision: 5);

    [Theory]
    [InlineData(0, 10)]
    [InlineData(100, 0)]
    [InlineData(100, 101)]
    public void Overlong_penalty_refuses_impossible_lengths(int max, int cache) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new OverlongPenalty(max, cache));

    [Theory]
    [InlineData("<think>two plus three</think><answer>5</answer>", Script.Latin, 1f)]
    [InlineData("<think>два plus</think>", Script.Latin, 4f / 7f)]        // 3 Cyrillic + 4 Latin letters
    [InlineData("<think>123 + 456 = 579</think>", Script.Latin, 0f)]     // no letters, no credit
    [InlineData("<think>café naïve</think>", Script.Latin, 1f)]
    [InlineData("<think>два три</think>", Script.Cyrillic, 1f)]
    [InlineData("<think>我们 think</think>", Script.Han, 2f / 7f)]
    [InlineData("no tags at all", Script.Latin, 1f)]                     // the whole completion is the reasoning
    [InlineData("<think>ok</think><answer>答案</answer>", Script.Latin, 1f)] // only the reasoning counts
    public void Language_consistency_is_the_share_of_letters_in_the_script(string text, Script script, float expected)
        => Assert.Equal(expected, new LanguageConsistencyReward(script).Score([C(text)])[0], precision: 5);

    [Fact]
    public void A_reward_set_sums_weighted_scores_and_keeps_each_column()
    {
        var set = new RewardSet([
            (new FormatReward(), 0.5f),
            (new DelegateReward("short", c => c.Text.Length < 40 ? 1f : 0f), 2f),
        ]);
        var scores = set.Score([C("<think>x</think><answer>5</answer>"), C("nothing in format, and quite long too......")]);
        Assert.Equal([2.5f, 0f], scores.Total);
        Assert.Equal([1f, 0f], scores.ByName["format"]);
        Assert.Equal([1f, 0f], scores.ByName["short"]);
    }

    [Fact]
    public void R1Zero_rewards_are_accuracy_plus_format()
    {
        var set = RewardSet.R1Zero(new ArithmeticTask());
        Assert.Equal([2f, 1f, 1f, 0f], set.Score([
            C("<think>x</think><answer>5</answer>"),
            C("<think>x</think><answer>6</answer>"),
            C("the answer is 5"),
            C(""),
        ]).Total);
    }

    [Fact]
    public void A_reward_set_refuses_duplicate_names_and_wrong_lengths()
    {
        Assert.Throws<ArgumentException>(() => new RewardSet([(new FormatReward(), 1f), (new FormatReward(), 1f)]));
        var broken = new RewardSet([(new DelegateBatch(), 1f)]);
        Assert.Throws<InvalidOperationException>(() => broken.Score([C("a"), C("b")]));
    }

    sealed class DelegateBatch : IRewardFunction
    {
        public string Name => "broken";
        public float[] Score(IReadOnlyList<Completion> batch) => [1f];
    }
}
