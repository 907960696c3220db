/*! tinybus v1.2.0 | MIT License */
!function(n,e){"object"==typeof exports&&"undefined"!=typeof module?module.exports=e():n.AcmeBus=e()}(this,function(){"use strict";var n=new Map;return{on:function(e,t){(n.get(e)||n.set(e,[]).get(e)).push(t)},off:function(e,t){var o=n.get(e);o&&o.splice(o.indexOf(t)>>>0,1)},emit:function(e,t){(n.get(e)||[]).slice().forEach(function(n){n(t)})}}});
