using Aha.Tasks.Answers;

namespace Aha.Tests.Tasks;

public class AnswerExtractorTests
{
    [Theory]
    // <answer> wins over everything, the last complete one counts, a \boxed inside narrows it.
    [InlineData("<think>2+2</think> <answer> 4 </answer>", "4", AnswerSources.AnswerTag)]
    [InlineData("<answer>3</answer> wait <answer>4</answer>", "4", AnswerSources.AnswerTag)]
    [InlineData("\\boxed{7} <answer>8</answer>", "8", AnswerSources.AnswerTag)]
    [InlineData("<answer>so \\boxed{\\frac{1}{2}}</answer>", "\\frac{1}{2}", AnswerSources.AnswerTag)]
    [InlineData("<answer></answer> 42", "", AnswerSources.AnswerTag)]
    // Unterminated tag: not an answer; the next rule decides.
    [InlineData("<answer>12", "12", AnswerSources.LastNumber)]
    // \boxed with nested braces; the last complete one counts; unterminated ones are skipped.
    [InlineData("so \\boxed{\\frac{3}{4}}.", "\\frac{3}{4}", AnswerSources.Boxed)]
    [InlineData("\\boxed{1} then \\boxed{2}", "2", AnswerSources.Boxed)]
    [InlineData("\\boxed{5} and \\boxed{6", "5", AnswerSources.Boxed)]
    [InlineData("\\boxed{{{x}}}", "{{x}}", AnswerSources.Boxed)]
    [InlineData("\\fbox{9}", "9", AnswerSources.Boxed)]
    [InlineData("\\boxed 5", "5", AnswerSources.Boxed)]
    [InlineData("\\boxed{\\{1,2\\}}", "\\{1,2\\}", AnswerSources.Boxed)]
    // #### (GSM8K): rest of the line after the last one.
    [InlineData("so 3+4=7\n#### 7", "7", AnswerSources.Hashes)]
    [InlineData("#### 1\n#### 2 apples\nbye", "2 apples", AnswerSources.Hashes)]
    // Last number: signs, separators, decimals, fractions.
    [InlineData("I think it is 12, no, 13.", "13", AnswerSources.LastNumber)]
    [InlineData("the total is 1,234,567 dollars", "1,234,567", AnswerSources.LastNumber)]
    [InlineData("x = -5", "-5", AnswerSources.LastNumber)]
    [InlineData("x = \u22125", "-5", AnswerSources.LastNumber)]
    [InlineData("7-5", "5", AnswerSources.LastNumber)]
    [InlineData("about 3/4 of it", "3/4", AnswerSources.LastNumber)]
    [InlineData("0.25 then .5", ".5", AnswerSources.LastNumber)]
    [InlineData("it is \\frac{1}{3}", "\\frac{1}{3}", AnswerSources.LastNumber)]
    public void Finds_the_answer_by_the_first_rule_that_matches(string text, string expected, AnswerSources source)
    {
        var extraction = AnswerExtractor.Extract(text);
        Assert.NotNull(extraction);
        Assert.Equal(expected, extraction.Text);
        Assert.Equal(source, extraction.Source);
    }

    [Theory]
    [InlineData("")]
    [InlineData("no numbers here")]
    [InlineData("<answer>")]
    [InlineData("\\boxed{")]
    [InlineData("</answer><answer>")]
    public void Finds_nothing_where_there_is_no_answer(string text) => Assert.Null(AnswerExtractor.Extract(text));

    [Theory]
    [InlineData("the answer is 42", AnswerSources.AnswerTag, null)]
    [InlineData("the answer is 42", AnswerSources.AnswerTag | AnswerSources.Boxed, null)]
    [InlineData("\\boxed{3} 42", AnswerSources.Boxed, "3")]
    [InlineData("\\boxed{3} 42", AnswerSources.LastNumber, "42")]
    public void Uses_only_the_allowed_sources(string text, AnswerSources sources, string? expected) =>
        Assert.Equal(expected, AnswerExtractor.Extract(text, sources)?.Text);

    [Theory]
    [InlineData("Natalia sold 48/2 = 24 clips.\n#### 72", "72")]
    [InlineData("So the area is $\\boxed{\\frac{\\pi}{2}}$.", "\\frac{\\pi}{2}")]
    [InlineData("  17 ", "17")]
    public void Reads_the_gold_from_dataset_reference_text(string reference, string gold) =>
        Assert.Equal(gold, AnswerExtractor.Gold(reference));
}
