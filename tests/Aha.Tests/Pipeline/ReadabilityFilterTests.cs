using Aha.Data;
using Aha.Pipeline;
using Aha.Tasks.Rewards;

namespace Aha.Tests.Pipeline;

public class ReadabilityFilterTests
{
    static readonly ReadabilityFilter Filter = new(MaxTokens: 100);

    [Theory]
    [InlineData(" <think>Units: 7+8=15, write 5, carry 1. Tens: 4+3+1=8, write 8. So 47+38=85.</think> <answer>85</answer>", 90, false, null)]
    [InlineData(" <think>7+8=15, 4+3+1=8, so 85</think> <answer>85</answer>", 40, false, null)]
    [InlineData(" <answer>1000000</answer>", 20, false, null)]                                   // seven digits, six zeros: under 16 characters
    [InlineData(" <think>so 85</think> <answer>85</answer>", 101, false, ReadabilityFilter.TooLong)] // over the token bound
    [InlineData(" <think>so 85</think> <answer>85</answer>", 30, true, ReadabilityFilter.TooLong)]   // cut at the generation limit
    [InlineData(" <think>7+8=15, так 85</think> <answer>85</answer>", 40, false, ReadabilityFilter.MixedScript)]
    [InlineData(" <think>7+8=15, 所以 85</think> <answer>85</answer>", 40, false, ReadabilityFilter.MixedScript)]
    [InlineData(" <think>7+8=15 ++ -- 85 ≥ 1</think> <answer>85</answer>", 40, false, null)]      // symbols are no script
    [InlineData(" <think>1+1=2, 1+1=2, 1+1=2, 1+1=2, so 2</think> <answer>2</answer>", 50, false, ReadabilityFilter.Repetition)]
    [InlineData(" <think>1+1=2, 1+1=2, 1+1=2, so 2</think> <answer>2</answer>", 50, false, null)] // three copies are allowed
    [InlineData(" <think>wait wait wait wait wait</think> <answer>2</answer>", 50, false, ReadabilityFilter.Repetition)]
    [InlineData(" <think>so 85</think> <answer>8888888888888888</answer>", 50, false, ReadabilityFilter.Repetition)]
    [InlineData(" <think>7+8=15, так 85</think>", 500, true, ReadabilityFilter.TooLong)]          // the first failing rule is named
    public void Each_rule_rejects_what_it_names_and_nothing_else(string text, int tokens, bool truncated, string? expected) =>
        Assert.Equal(expected, Filter.Reject(text, tokens, truncated));

    [Theory]
    [InlineData("ab ab ab ab", 3, 1, 4)]
    [InlineData("abcabc", 3, 1, 2)]
    [InlineData("abcdef", 6, 1, 1)]
    [InlineData("aaaa", 1, 1, 4)]
    [InlineData("aaaa", 1, 5, 1)] // the run is shorter than the minimum span
    [InlineData("", 5, 1, 1)]
    public void Longest_repeat_counts_back_to_back_copies(string text, int maxPeriod, int minChars, int expected) =>
        Assert.Equal(expected, ReadabilityFilter.LongestRepeat(text, maxPeriod, minChars));

    [Fact]
    public void Every_readable_cold_start_example_passes_the_filters_and_the_format_rule()
    {
        var task = Aha.Tasks.TaskRegistry.Addition();
        var format = new FormatReward();
        foreach (var item in task.Items(Aha.Tasks.TaskSplit.Train, 3).Take(200))
        {
            string completion = ReasoningCorpus.ReadableCompletion(item);
            Assert.Null(R1PipelineOptions.Full.Readability.Reject(completion, completion.Length + 1, truncated: false)); // byte tokens and the stop
            Assert.True(completion.Length + 1 <= R1PipelineOptions.Full.MaxCompletionTokens);
            Assert.True(format.IsWellFormed("User: x\nAssistant:", completion), completion);
            Assert.True(task.Verify(completion, item).Correct, completion);
        }
    }

    [Theory]
    [InlineData(47, 38, "<think>7+8=15, 4+3+1=8, so 85. Units: 15, write 5, carry 1. Tens: 8, write 8. The sum is 85.</think> <answer>85</answer>")]
    [InlineData(12, 30, "<think>2+0=2, 1+3=4, so 42. Units: 2, write 2. Tens: 4, write 4. The sum is 42.</think> <answer>42</answer>")]
    [InlineData(95, 17, "<think>5+7=12, 9+1+1=11, so 112. Units: 12, write 2, carry 1. Tens: 11, write 1, carry 1. Hundreds: carry 1. The sum is 112.</think> <answer>112</answer>")]
    public void The_readable_format_gives_the_sums_then_names_each_column_and_ends_with_a_summary(long a, long b, string expected) =>
        Assert.Equal(expected, ReasoningCorpus.ReadableAddition(a, b));

    [Fact]
    public void Bad_settings_are_refused_with_the_field_named()
    {
        var e = Assert.Throws<ArgumentException>(() => new ReadabilityFilter(MaxRepeats: 1).Validate());
        Assert.Contains("max repeats", e.Message);
    }
}
