"""The one bigram function of both search indexes (``office.bigrams``): what a text's keys are, and
that the document and chat indexes key a text alike."""

from __future__ import annotations

import docs_flow.search as doc_search
import docs_flow.search_index as doc_index
import messaging.search_index as chat_index
from office.bigrams import bigrams, pairs


def test_pairs_keep_order_and_repeats() -> None:
    assert pairs("通知关于") == ["通知", "知关", "关于"]
    assert pairs("哈哈哈") == ["哈哈", "哈哈"]
    assert pairs("通") == [] and pairs("") == []


def test_bigrams_are_distinct_lower_cased_and_count_whitespace_as_a_character() -> None:
    assert bigrams("预算编制") == {"预算", "算编", "编制"}
    assert bigrams("OA Ok") == {"oa", "a ", " o", "ok"}
    # Whitespace is a character like any other, pairs of it included (the decision in office.bigrams).
    assert bigrams("会议  通知\n\n") == {"会议", "议 ", "  ", " 通", "通知", "知\n", "\n\n"}
    assert bigrams("会") == set() and bigrams("") == set()


def test_both_indexes_key_a_text_with_the_one_function() -> None:
    text = "关于 2024 年\n\n工作  安排"
    assert doc_index.bigrams is bigrams and chat_index.bigrams is bigrams and doc_search.bigrams is bigrams
    # The chat index's document is its conversation token and one token per key.
    tokens = chat_index.fts_document(7, text).split()
    assert tokens[0] == "c7" and set(tokens[1:]) == {chat_index.gram_token(g) for g in bigrams(text)}
    # The document index's FTS phrases are the in-order pairs of each CJK run.
    assert doc_index.fts_tokens("通知关于 abc") == "通知 知关 关于 abc"
