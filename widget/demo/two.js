// Puts each tenant's demo page in its own frame: two.html?a=ten_…&b=ten_…
(function () {
  var q = new URLSearchParams(location.search);
  ['a', 'b'].forEach(function (id) {
    document.getElementById(id).src = 'index.html?tenant=' + encodeURIComponent(q.get(id) || '');
  });
})();
